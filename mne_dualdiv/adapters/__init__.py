"""Adapters: MNE, SpikeInterface and neo objects to channel x time images and back."""
