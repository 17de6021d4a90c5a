"""Reference architectures for the tracing tests, written after their published layouts (torchvision cannot be loaded beside
the CPU torch 2.13.0). Widths and inputs are small so that every test runs in a fraction of a second."""
import torch
from torch import nn
import torch.nn.functional as F

# ---- ResNet-18 (torchvision layout: stem conv+BN+ReLU+maxpool, 4 stages of 2 BasicBlocks, 1x1 conv+BN downsample) ----
class BasicBlock(nn.Module):
    def __init__(self, c_in, c, stride=1):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(c_in, c, 3, stride, 1, bias=False), nn.BatchNorm2d(c)
        self.relu = nn.ReLU(inplace=True)
        self.conv2, self.bn2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.downsample = (nn.Sequential(nn.Conv2d(c_in, c, 1, stride, bias=False), nn.BatchNorm2d(c))
                           if stride != 1 or c_in != c else None)
    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None: identity = self.downsample(x)
        out += identity
        return self.relu(out)

class ResNet18(nn.Module):
    def __init__(self, widths=(8, 16, 32, 64), n_out=10):
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, widths[0], 7, 2, 3, bias=False), nn.BatchNorm2d(widths[0])
        self.relu, self.maxpool = nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)
        c, stages = widths[0], []
        for i, w in enumerate(widths):
            stages.append(nn.Sequential(BasicBlock(c, w, 1 if i == 0 else 2), BasicBlock(w, w))); c = w
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool, self.fc = nn.AdaptiveAvgPool2d((1, 1)), nn.Linear(c, n_out)
    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))

# ---- VGG-11 with BatchNorm (torchvision layout, 7x7 adaptive pool, flatten into the classifier) ----
class VGG11BN(nn.Module):
    def __init__(self, cfg=(8, 'M', 16, 'M', 32, 32, 'M', 64, 64, 'M', 64, 64, 'M'), fc=64, n_out=10):
        super().__init__()
        layers, c = [], 3
        for v in cfg:
            if v == 'M': layers.append(nn.MaxPool2d(2, 2))
            else: layers += [nn.Conv2d(c, v, 3, padding=1), nn.BatchNorm2d(v), nn.ReLU(inplace=True)]; c = v
        self.features, self.avgpool = nn.Sequential(*layers), nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(nn.Linear(c * 49, fc), nn.ReLU(True), nn.Dropout(), nn.Linear(fc, fc), nn.ReLU(True),
                                        nn.Dropout(), nn.Linear(fc, n_out))
    def forward(self, x): return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

# ---- MobileNetV2-style inverted residuals (depthwise conv, ReLU6, linear bottleneck, identity skip) ----
def conv_bn(c_in, c_out, k=3, s=1, groups=1, act=True):
    return nn.Sequential(nn.Conv2d(c_in, c_out, k, s, k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out),
                         *([nn.ReLU6(inplace=True)] if act else []))

class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_out, stride, t):
        super().__init__()
        h = c_in * t
        self.use_res = stride == 1 and c_in == c_out
        self.conv = nn.Sequential(*([conv_bn(c_in, h, 1)] if t != 1 else []), conv_bn(h, h, 3, stride, groups=h),
                                  conv_bn(h, c_out, 1, act=False))
    def forward(self, x): return x + self.conv(x) if self.use_res else self.conv(x)

class MobileNetV2(nn.Module):
    def __init__(self, cfg=((1, 8, 1, 1), (6, 12, 2, 2), (6, 16, 2, 2)), stem=8, last=32, n_out=10):
        super().__init__()
        layers, c = [conv_bn(3, stem, 3, 2)], stem
        for t, w, n, s in cfg:
            for i in range(n): layers.append(InvertedResidual(c, w, s if i == 0 else 1, t)); c = w
        layers.append(conv_bn(c, last, 1))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(last, n_out))
    def forward(self, x): return self.classifier(F.adaptive_avg_pool2d(self.features(x), 1).flatten(1))

# ---- ViT-tiny (patch conv, class token, positional embedding, pre-norm blocks with nn.MultiheadAttention) ----
class ViTBlock(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(d), nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln2, self.mlp = nn.LayerNorm(d), nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Linear(mlp, d))
    def forward(self, x):
        h = self.ln1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))

class ViTTiny(nn.Module):
    def __init__(self, img=16, patch=4, d=16, depth=2, heads=2, mlp=32, n_out=10):
        super().__init__()
        n = (img // patch) ** 2
        self.patch = nn.Conv2d(3, d, patch, patch)
        self.cls_token, self.pos_embed = nn.Parameter(torch.randn(1, 1, d) * .02), nn.Parameter(torch.randn(1, n + 1, d) * .02)
        self.blocks = nn.Sequential(*[ViTBlock(d, heads, mlp) for _ in range(depth)])
        self.norm, self.head = nn.LayerNorm(d), nn.Linear(d, n_out)
    def forward(self, x):
        x = self.patch(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        return self.head(self.norm(self.blocks(x))[:, 0])

# ---- torch's own nn.TransformerEncoder (2 layers) between an input projection and a mean-pooled head ----
class TransformerClassifier(nn.Module):
    def __init__(self, n_in=8, d=16, heads=2, ff=32, n_out=3):
        super().__init__()
        self.inp = nn.Linear(n_in, d)
        self.encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(d, heads, ff, dropout=0.1, batch_first=True), 2,
                                             enable_nested_tensor=False)
        self.head = nn.Linear(d, n_out)
    def forward(self, x): return self.head(self.encoder(self.inp(x)).mean(1))

# ---- custom models ----
class FunctionalMLP(nn.Module):
    "An MLP whose forward calls F.relu and a tensor method."
    def __init__(self, n_in=12, widths=(10, 9), n_out=3):
        super().__init__()
        self.fc1, self.fc2, self.out = nn.Linear(n_in, widths[0]), nn.Linear(widths[0], widths[1]), nn.Linear(widths[1], n_out)
    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(1)))
        return self.out(self.fc2(x).relu())

class CatCNN(nn.Module):
    "A CNN with a torch.cat skip: the third conv reads both earlier feature maps."
    def __init__(self, c=6, n_out=4):
        super().__init__()
        self.conv1, self.conv2, self.conv3 = nn.Conv2d(3, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(2 * c, 8, 3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, n_out)
    def forward(self, x):
        h1 = F.relu(self.conv1(x))
        h2 = F.relu(self.conv2(h1))
        h = F.relu(self.conv3(torch.cat([h1, h2], 1)))
        return self.fc(F.adaptive_avg_pool2d(h, 4).flatten(1))

class GRUClassifier(nn.Module):
    def __init__(self, n_in=5, hidden=12, layers=2, n_out=3):
        super().__init__()
        self.gru, self.fc = nn.GRU(n_in, hidden, layers, batch_first=True), nn.Linear(hidden, n_out)
    def forward(self, x):
        out, _ = self.gru(x)
        return self.fc(out[:, -1])

class LSTMClassifier(nn.Module):
    def __init__(self, n_in=5, hidden=12, layers=2, n_out=3):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(n_in, hidden, layers, batch_first=True), nn.Linear(hidden, n_out)
    def forward(self, x):
        _, (h, c) = self.lstm(x)
        return self.fc(h[-1])

def zoo(seed=0):
    "name -> (model, example input), all built from `seed`."
    g = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return {
            'resnet18': (ResNet18(), torch.randn(2, 3, 32, 32, generator=g)),
            'vgg11_bn': (VGG11BN(), torch.randn(2, 3, 32, 32, generator=g)),
            'mobilenet_v2': (MobileNetV2(), torch.randn(2, 3, 32, 32, generator=g)),
            'vit_tiny': (ViTTiny(), torch.randn(2, 3, 16, 16, generator=g)),
            'transformer': (TransformerClassifier(), torch.randn(2, 7, 8, generator=g)),
            'functional_mlp': (FunctionalMLP(), torch.randn(4, 12, generator=g)),
            'cat_cnn': (CatCNN(), torch.randn(2, 3, 8, 8, generator=g)),
            'gru': (GRUClassifier(), torch.randn(3, 6, 5, generator=g)),
            'lstm': (LSTMClassifier(), torch.randn(3, 6, 5, generator=g)),
        }
