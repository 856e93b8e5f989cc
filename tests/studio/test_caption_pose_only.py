"""A pose-only model (one class) gets no action caption: its '100 %' is not a finding."""
from __future__ import annotations

import numpy as np

from rpan_studio.export import caption_for


def test_a_one_class_model_names_no_action():
    assert caption_for(np.array([1.0]), ["unlabeled"]) == "poses only (the model has no action classes)"


def test_an_action_model_names_its_most_probable_class():
    assert caption_for(np.array([0.3, 0.7]), ["walk", "jump"]) == "jump 70%"
