"""Live training in the app: background worker, training panel, live plots, health view."""
