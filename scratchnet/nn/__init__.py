"""scratchnet.nn: a small neural-network library (layers, losses, optimizers, Sequential)."""
from .activations import ReLU, Sigmoid
from .base import Layer, Parameter
from .dense import Dense
from .reshape import Flatten, Reshape
from .losses import BCELoss, KLDivLoss, Loss, MSELoss
from .conv import Conv2D, Conv2DTranspose
from .pooling import MaxPool2D, UpSampling2D
from .normalize import L2Normalize
from .optim import SGD, Adadelta, Adam, Optimizer
from .callbacks import Callback, History, ModelCheckpoint
from .model import Sequential, TrainingDivergedError
from .checkpoint import load_checkpoint, load_model
from .schedules import LearningRateScheduler, cosine_decay
