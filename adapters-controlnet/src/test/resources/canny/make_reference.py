#!/usr/bin/env python3
"""Regenerates the Canny reference images used by CannyEdgesTest.

NOT part of the build: the PNGs next to this script are committed, and the Maven build never runs
Python. Run it by hand only to rebuild the references, e.g. on Debian/Ubuntu:

    sudo apt-get install -y python3-opencv
    /usr/bin/python3 make_reference.py

The references were made with OpenCV 4.6.0 (Debian 12 python3-opencv) and NumPy 1.24.2.

Each case mirrors the diffusers ControlNet example: the image is an 8-bit RGB array in R, G, B
channel order (what np.array(pil_image) gives), edges = cv2.Canny(image, low, high) with OpenCV's
defaults (apertureSize=3, L2gradient=False), then the single channel is repeated to three channels.
cv2.imwrite expects B, G, R order, hence the [:, :, ::-1] flips on the way in and out.

Files written:
    pattern_64x48.png      synthetic test pattern: gradients, shapes, thin lines, noise
    colour_64x48.png       colourful image whose channels disagree (edges in one channel only,
                           near-isoluminant boundaries, per-channel noise)
    <name>_canny_<low>_<high>.png   cv2's output, three identical channels of 0 or 255
"""
import os

import cv2
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
W, H = 64, 48
THRESHOLDS = [(100, 200), (30, 90)]


def pattern(rng):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.zeros((H, W, 3), np.float64)
    img[..., 0] = xx * 255.0 / (W - 1)                      # horizontal ramp
    img[..., 1] = yy * 255.0 / (H - 1)                      # vertical ramp
    img[..., 2] = 128.0 + 100.0 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    img[(xx - 20) ** 2 + (yy - 18) ** 2 < 11 ** 2] = (230, 40, 40)     # disc
    img[28:42, 36:58] = (20, 200, 90)                       # rectangle touching nothing
    img[0:9, 50:64] = (250, 250, 250)                       # block on the top/right border
    img[H - 6:H, 0:12] = (0, 0, 0)                          # block on the bottom/left border
    for k in range(W):                                      # thin diagonal line
        y = int(k * 0.6) + 5
        if 0 <= y < H:
            img[y, k] = (255, 255, 0)
    img[:, 30] = (60, 60, 200)                              # one-pixel vertical line
    img += rng.normal(0.0, 5.0, img.shape)                  # noise
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def colour(rng):
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    img = np.zeros((H, W, 3), np.float64)
    img[..., 0] = np.where((xx // 8) % 2 == 0, 200.0, 60.0)              # red: vertical stripes
    img[..., 1] = np.where((xx - 40) ** 2 + (yy - 24) ** 2 < 15 ** 2, 220.0, 30.0)  # green: disc
    img[..., 2] = np.where(xx + yy > 50, 180.0, 20.0)                    # blue: diagonal step
    img[5:20, 5:25] = (200, 60, 60)                                      # roughly isoluminant pair:
    img[5:20, 25:40] = (60, 130, 60)                                     #   red | green patch
    img += rng.normal(0.0, 8.0, img.shape)                               # independent per channel
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def main():
    rng = np.random.default_rng(20240611)
    for name, rgb in (("pattern_64x48", pattern(rng)), ("colour_64x48", colour(rng))):
        cv2.imwrite(os.path.join(HERE, name + ".png"), rgb[:, :, ::-1])
        # Re-read so the reference is computed from exactly the bytes the Java test loads.
        rgb = np.ascontiguousarray(cv2.imread(os.path.join(HERE, name + ".png"), cv2.IMREAD_COLOR)[:, :, ::-1])
        for low, high in THRESHOLDS:
            edges = cv2.Canny(rgb, low, high)
            out = np.repeat(edges[:, :, None], 3, axis=2)
            cv2.imwrite(os.path.join(HERE, "%s_canny_%d_%d.png" % (name, low, high)), out)
            print("%s (%d, %d): %d edge pixels of %d" % (name, low, high, int((edges > 0).sum()), edges.size))
    print("OpenCV", cv2.__version__, "NumPy", np.__version__)


if __name__ == "__main__":
    main()
