"""The tiny ONNX model the detector tests load: YOLOv8 layout, two classes, no metadata.

    python training/make_test_model.py test/perception/data/tiny_two_class.onnx  # with torch

Input [1, 3, 32, 64], output [1, 4 + 2, 32] (strides 8, one level), random weights: the tests
give it names and imgsz through a sidecar, or break that sidecar on purpose.
"""

import sys

import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Conv2d(3, 6, 8, 8)

    def forward(self, x):
        return self.body(x).flatten(2).sigmoid() * 32.0


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.onnx.export(
        Tiny().eval(),
        (torch.zeros(1, 3, 32, 64),),
        sys.argv[1],
        dynamo=False,
        opset_version=17,
        input_names=["images"],
        output_names=["output0"],
    )
