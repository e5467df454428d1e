"""Latent-space analysis of a convolutional autoencoder trained on face images."""
