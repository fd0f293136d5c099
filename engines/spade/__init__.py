"""SPADE (GauGAN, NVlabs/SPADE): generator, VAE encoder, option inference and the engine."""
