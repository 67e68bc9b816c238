"""Writes antialiased-resize.json: inputs and diffusers' _resize_with_antialiasing outputs for ClipImageInputTest.

Run with torch installed and the path of diffusers' pipeline_stable_video_diffusion.py, whose module-level helper
functions (from `def _resize_with_antialiasing` to the end of the file) are executed as they are:

    python3 make_reference.py path/to/pipeline_stable_video_diffusion.py
"""
import json
import math
import sys

import torch

source = open(sys.argv[1]).read()
helpers = source[source.index("def _resize_with_antialiasing"):]
namespace = {"torch": torch}
exec(helpers, namespace)
resize = namespace["_resize_with_antialiasing"]


def pattern(channels, height, width):
    values = [math.sin(0.37 * c + 0.11 * y * y + 0.23 * x) * math.cos(0.05 * x * y + c)
              for c in range(channels) for y in range(height) for x in range(width)]
    return torch.tensor(values, dtype=torch.float32).reshape(1, channels, height, width)


cases = []
for height, width, out_h, out_w in [(96, 128, 24, 24), (40, 30, 16, 16), (10, 12, 24, 24)]:
    x = pattern(3, height, width)
    y = resize(x, (out_h, out_w))
    cases.append({"height": height, "width": width, "outHeight": out_h, "outWidth": out_w,
                  "output": [float(v) for v in y.flatten()]})
json.dump({"cases": cases}, open("antialiased-resize.json", "w"))
