"""Face parsing with BiSeNet (ResNet-18 context path), as trained on CelebAMask-HQ by face-parsing.PyTorch."""
