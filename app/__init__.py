"""regionpaint: repaint semantic regions of a photo and render them with a GAN."""
