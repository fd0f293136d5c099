"""Street scenes with DRN-D-105 (Yu, Koltun, Funkhouser, "Dilated Residual Networks", CVPR 2017) on Cityscapes."""
