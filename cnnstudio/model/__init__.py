"""cnnstudio.model"""
