"""The Explain view, saliency and the glossary "?" (shared by the feature-map panel, the drawing canvas and the mistakes gallery)."""
