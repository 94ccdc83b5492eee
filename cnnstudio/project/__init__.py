"""cnnstudio.project"""
