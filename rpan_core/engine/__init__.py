"""The training engine (``rpan train``), in parts.

- :mod:`.config`   the training options, declared once (the CLI parser is generated from them)
- :mod:`.build`    the model: from a preset, or initialized from a checkpoint (``--init``)
- :mod:`.data`     datasets and sampler of a run (a factory per training preset)
- :mod:`.loop`     :class:`Trainer`: the step function and the loop around it
- :mod:`.hooks`    events log, TensorBoard, progress, checkpoints and best model, distributed stop
- :mod:`.state`    the resume state (``trainer_state.pt``), loaded without running code
- :mod:`.validate` validation metrics and the score ``best.pt`` maximizes
- :mod:`.cli`      ``rpan train``
"""

from rpan_core.engine.build import build_model
from rpan_core.engine.config import PRESETS, STREAMS, TrainConfig, config_from_args, configure_parser, parse_size
from rpan_core.engine.loop import Trainer, run_training

__all__ = ["TrainConfig", "PRESETS", "STREAMS", "Trainer", "run_training", "build_model", "configure_parser",
           "config_from_args", "parse_size"]
