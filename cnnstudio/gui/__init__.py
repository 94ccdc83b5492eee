"""cnnstudio.gui"""
