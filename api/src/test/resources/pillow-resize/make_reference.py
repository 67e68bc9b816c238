"""Writes the inputs and Pillow's resized outputs that ResampleTest compares Images.resize with, pixel for pixel.

    python3 make_reference.py     (Pillow 9.4, Debian's python3-pil)
"""
import math

from PIL import Image


def pattern(width, height):
    image = Image.new("RGB", (width, height))
    for y in range(height):
        for x in range(width):
            r = int(127.5 + 127.5 * math.sin(0.41 * x + 0.17 * y))
            g = int(255 * ((x * 7 + y * 3) % 23) / 22)
            b = 255 if (x // 5 + y // 4) % 2 == 0 else 10
            image.putpixel((x, y), (r, g, b))
    return image


for name, size in {"a": (37, 29), "b": (64, 48)}.items():
    source = pattern(*size)
    source.save(f"{name}.png")
    for filter_name, resample in {"lanczos": Image.Resampling.LANCZOS, "bicubic": Image.Resampling.BICUBIC}.items():
        for target in [(16, 12), (100, 75), (size[0], 60), (20, size[1]), (8, 8)]:
            source.resize(target, resample=resample).save(f"{name}-{filter_name}-{target[0]}x{target[1]}.png")
