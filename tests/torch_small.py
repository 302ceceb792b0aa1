"""PyTorch twins of the engine's narrow 28x28 networks (resnet18_small,
resnet34_small, plain18_small, plain34_small, googlenet_small), made of
torchvision's own blocks so that every module keeps torchvision's name.
They are the parity suite's reference for the builders, and the PyTorch
side of bench/train_small.py.

Each is torchvision's network with every width scaled to WIDTH (16: a
quarter of torchvision's 64) and a small-input stem: a 3x3 convolution at
stride 1 and no first max-pool.  The plain networks keep every layer of the
residual ones and drop the shortcuts, as the ResNet paper's plain nets."""
import torch
import torch.nn as nn
from torchvision.models.googlenet import BasicConv2d, Inception
from torchvision.models.resnet import BasicBlock

WIDTH = 16


class PlainBlock(BasicBlock):
    """torchvision's BasicBlock without its shortcut (and so without the
    downsample projection, which only serves the shortcut)."""

    def forward(self, x):
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)))


class SmallResNet(nn.Module):
    def __init__(self, blocks, plain, width=WIDTH, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        block = PlainBlock if plain else BasicBlock
        channels = width
        for stage, n in enumerate(blocks):
            planes = width << stage
            layers = []
            for b in range(n):
                stride = 2 if b == 0 and stage > 0 else 1
                downsample = None
                if not plain and b == 0 and (stride != 1
                                             or channels != planes):
                    downsample = nn.Sequential(
                        nn.Conv2d(channels, planes, 1, stride, bias=False),
                        nn.BatchNorm2d(planes))
                layers.append(block(channels, planes, stride, downsample))
                channels = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out",
                                        nonlinearity="relu")

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def scaled(channels, width=WIDTH):
    return max(1, channels * width // 64)


class SmallGoogLeNet(nn.Module):
    """torchvision's GoogLeNet layer for layer, widths scaled, with conv1 a
    3x3 convolution at stride 1 and maxpool1 dropped."""

    def __init__(self, width=WIDTH, num_classes=10):
        super().__init__()
        s = lambda c: scaled(c, width)  # noqa: E731
        self.conv1 = BasicConv2d(1, s(64), kernel_size=3, padding=1)
        self.conv2 = BasicConv2d(s(64), s(64), kernel_size=1)
        self.conv3 = BasicConv2d(s(64), s(192), kernel_size=3, padding=1)
        self.maxpool2 = nn.MaxPool2d(3, stride=2, ceil_mode=True)
        specs = [
            ("inception3a", 64, 96, 128, 16, 32, 32),
            ("inception3b", 128, 128, 192, 32, 96, 64),
            ("maxpool3", 3),
            ("inception4a", 192, 96, 208, 16, 48, 64),
            ("inception4b", 160, 112, 224, 24, 64, 64),
            ("inception4c", 128, 128, 256, 24, 64, 64),
            ("inception4d", 112, 144, 288, 32, 64, 64),
            ("inception4e", 256, 160, 320, 32, 128, 128),
            ("maxpool4", 2),
            ("inception5a", 256, 160, 320, 32, 128, 128),
            ("inception5b", 384, 192, 384, 48, 128, 128),
        ]
        channels = s(192)
        self.order = []
        for name, *spec in specs:
            if len(spec) == 1:
                setattr(self, name, nn.MaxPool2d(spec[0], stride=2,
                                                 ceil_mode=True))
            else:
                outs = [s(c) for c in spec]
                setattr(self, name, Inception(channels, *outs))
                channels = outs[0] + outs[2] + outs[4] + outs[5]
            self.order.append(name)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(0.2)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.maxpool2(self.conv3(self.conv2(self.conv1(x))))
        for name in self.order:
            x = getattr(self, name)(x)
        x = torch.flatten(self.avgpool(x), 1)
        return self.fc(self.dropout(x))


def make(arch):
    """The PyTorch twin of the engine's architecture ARCH."""
    depth = {"18": [2, 2, 2, 2], "34": [3, 4, 6, 3]}
    if arch == "googlenet_small":
        return SmallGoogLeNet()
    for kind in ("resnet", "plain"):
        for d, blocks in depth.items():
            if arch == f"{kind}{d}_small":
                return SmallResNet(blocks, plain=kind == "plain")
    raise KeyError(arch)


SMALL_ARCHS = ["resnet18_small", "resnet34_small", "plain18_small",
               "plain34_small", "googlenet_small"]
