"""deals"""
