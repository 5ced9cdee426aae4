# Copyright 2026 The baff_ros Authors
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
"""Cityscapes dataset and transforms: layout, labelIds fallback, deterministic augmentation."""

import cv2
import numpy as np
import pytest
import torch

from baff_ros.data.cityscapes import CityscapesDataset, list_samples
from baff_ros.data.labels import id_to_train_id_lut
from baff_ros.data.synth import write_dataset
from baff_ros.data.transforms import EvalTransform, normalize, sample_rng, TrainTransform
from baff_ros.model.checkpoint import IMAGENET_MEAN, IMAGENET_STD


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp('cs')
    write_dataset(root, 3, 11, (96, 192), n_val=2)
    return root


def test_reads_the_generated_layout(root):
    ds = CityscapesDataset(root, 'train')
    assert len(ds) == 3 and len(CityscapesDataset(root, 'val')) == 2
    image, labels = ds[0]
    assert image.shape == (96, 192, 3) and image.dtype == torch.uint8
    assert labels.shape == (96, 192) and labels.dtype == torch.int64
    assert set(torch.unique(labels).tolist()) <= set(range(19)) | {255}


def test_label_ids_fallback_matches_train_ids(root, tmp_path):
    import shutil

    copy = tmp_path / 'copy'
    shutil.copytree(root, copy)
    for p in copy.rglob('*_labelTrainIds.png'):
        p.unlink()
    a = CityscapesDataset(root, 'val').raw(1)[1]
    b = CityscapesDataset(copy, 'val').raw(1)[1]
    assert np.array_equal(a, b)
    lab = cv2.imread(str(list_samples(copy, 'val')[1].label_ids), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(b, id_to_train_id_lut()[lab])


def test_missing_things_are_clear_errors(root, tmp_path):
    with pytest.raises(ValueError, match='no such directory'):
        CityscapesDataset(tmp_path, 'train')
    with pytest.raises(ValueError, match='split must be'):
        CityscapesDataset(root, 'training')
    (tmp_path / 'leftImg8bit' / 'val' / 'x').mkdir(parents=True)
    cv2.imwrite(str(tmp_path / 'leftImg8bit' / 'val' / 'x' / 'x_0_0_leftImg8bit.png'),
                np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match='no ground truth'):
        CityscapesDataset(tmp_path, 'val')


def test_augmentation_is_deterministic_per_seed_epoch_index(root):
    t = TrainTransform(crop=(64, 128))
    ds = CityscapesDataset(root, 'train', t, seed=4)
    a1, l1 = ds[1]
    a2, l2 = ds[1]
    assert torch.equal(a1, a2) and torch.equal(l1, l2)
    assert a1.shape == (3, 64, 128) and a1.dtype == torch.float32 and l1.shape == (64, 128)
    ds.set_epoch(1)
    b, _ = ds[1]
    assert not torch.equal(a1, b)
    assert not torch.equal(ds[0][0], ds[2][0])


def test_crop_pads_with_ignore_and_scale_range():
    rgb = np.full((40, 60, 3), 120, np.uint8)
    lab = np.full((40, 60), 3, np.uint8)
    t = TrainTransform(crop=(128, 128), scale=(1.0, 1.0), flip=0.0)
    img, out = t(rgb, lab, sample_rng(0, 0, 0))
    assert img.shape == (3, 128, 128)
    assert (out == 255).sum() == 128 * 128 - 40 * 60 and (out == 3).sum() == 40 * 60
    big = TrainTransform(crop=(32, 32), scale=(2.0, 2.0), flip=0.0, brightness=0, contrast=0,
                         saturation=0, hue=0)
    _, out = big(rgb, lab, sample_rng(0, 0, 0))
    assert (out == 3).all()


def test_flip_and_jitter_keep_labels_aligned():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
    lab = np.tile(np.arange(64, dtype=np.uint8) % 19, (64, 1))
    t = TrainTransform(crop=(64, 64), scale=(1.0, 1.0), flip=1.0)
    _, out = t(rgb, lab, sample_rng(1, 0, 0))
    assert np.array_equal(out, lab[:, ::-1])


def test_normalisation_matches_the_formula():
    rgb = np.random.default_rng(1).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    ref = (rgb / 255.0 - np.array(IMAGENET_MEAN)) / np.array(IMAGENET_STD)
    np.testing.assert_allclose(normalize(rgb), ref.transpose(2, 0, 1), atol=1e-5)
    img, lab = EvalTransform(size=(32, 64))(rgb, np.zeros((5, 7), np.uint8))
    assert img.shape == (3, 32, 64) and lab.shape == (5, 7)


@pytest.mark.parametrize('kwargs, field', [({'crop': (0, 5)}, 'crop'),
                                           ({'scale': (2.0, 1.0)}, 'scale'),
                                           ({'flip': 2.0}, 'flip'),
                                           ({'brightness': 1.5}, 'brightness')])
def test_transform_config_is_validated(kwargs, field):
    with pytest.raises(ValueError, match=field):
        TrainTransform(**kwargs)
