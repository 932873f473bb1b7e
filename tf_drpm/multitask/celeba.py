"""CelebA as a multitask problem: one binary task per attribute.

Follows Sutter et al. (2023, appendix C.3.4): the 40 CelebA attributes are
sorted alphabetically and the first `num_tasks` of them are the tasks; images
are resized to 64x64. The records come from TensorFlow Datasets' `celeb_a`
builder (features `image` uint8 [218, 178, 3], `attributes` {name: bool},
`landmarks`, `identity`). Nothing is downloaded unless the caller asks for it.
"""

import tensorflow as tf

__all__ = [
    "CELEBA_ATTRIBUTES",
    "REFERENCE_BGR_MEAN",
    "celeba_pipeline",
    "celeba_task_names",
    "load_celeba",
    "preprocess_celeba",
]

# Alphabetical order (Python's `sorted`, digits before letters).
CELEBA_ATTRIBUTES = tuple(
    sorted(
        (
            "5_o_Clock_Shadow Arched_Eyebrows Attractive Bags_Under_Eyes Bald Bangs "
            "Big_Lips Big_Nose Black_Hair Blond_Hair Blurry Brown_Hair "
            "Bushy_Eyebrows Chubby Double_Chin Eyeglasses Goatee Gray_Hair "
            "Heavy_Makeup High_Cheekbones Male Mouth_Slightly_Open Mustache "
            "Narrow_Eyes No_Beard Oval_Face Pale_Skin Pointy_Nose Receding_Hairline "
            "Rosy_Cheeks Sideburns Smiling Straight_Hair Wavy_Hair Wearing_Earrings "
            "Wearing_Hat Wearing_Lipstick Wearing_Necklace Wearing_Necktie Young"
        ).split()
    )
)

# Per-channel mean (B, G, R order, 0..255) subtracted by the reference loader.
REFERENCE_BGR_MEAN = (73.15835921, 82.90891754, 72.39239876)


def celeba_task_names(num_tasks=40):
    """The first `num_tasks` attribute names in alphabetical order.

    Args:
        num_tasks: Python int in [1, 40].

    Returns:
        A list of `num_tasks` attribute names.
    """
    if not 1 <= int(num_tasks) <= len(CELEBA_ATTRIBUTES):
        raise ValueError(
            f"`num_tasks` must be in [1, {len(CELEBA_ATTRIBUTES)}]. "
            f"Received: num_tasks={num_tasks}"
        )
    return list(CELEBA_ATTRIBUTES[: int(num_tasks)])


def preprocess_celeba(features, task_names, image_size=64, normalization="unit"):
    """Maps one TFDS `celeb_a` record to `(image, labels)`.

    Args:
        features: Dict with `image` (uint8 `[H, W, 3]`) and `attributes` (dict of
            bool scalars), as yielded by `tfds.load("celeb_a")`; batched records
            (leading batch dimension) work too.
        task_names: List of attribute names, the tasks in order.
        image_size: Python int, output height and width.
        normalization: `"unit"`: RGB scaled to [0, 1]. `"reference"`: as the
            reference PyTorch loader, channels flipped to BGR, `REFERENCE_BGR_MEAN`
            subtracted, then divided by 255.

    Returns:
        image: float32 `[..., image_size, image_size, 3]` (bilinear resize with
            anti-aliasing of the whole, uncropped image).
        labels: int32 `[..., num_tasks]`, 1 where the attribute is present.
    """
    if normalization not in ("unit", "reference"):
        raise ValueError(
            "`normalization` must be 'unit' or 'reference'. "
            f"Received: normalization={normalization!r}"
        )
    attributes = features["attributes"]
    missing = [t for t in task_names if t not in attributes]
    if missing:
        raise ValueError(
            f"Unknown CelebA attributes {missing}. Received: task_names={task_names}"
        )
    image = tf.cast(features["image"], tf.float32)
    if normalization == "reference":
        image = image[..., ::-1] - tf.constant(REFERENCE_BGR_MEAN, tf.float32)
    image = tf.image.resize(
        image, (image_size, image_size), method="bilinear", antialias=True
    )
    image = image / 255.0
    labels = tf.stack([tf.cast(attributes[t], tf.int32) for t in task_names], axis=-1)
    return image, labels


def celeba_pipeline(
    dataset,
    num_tasks=40,
    batch_size=128,
    shuffle=False,
    seed=0,
    drop_remainder=False,
    image_size=64,
    normalization="unit",
    shuffle_buffer=10000,
):
    """Turns a dataset of TFDS `celeb_a` records into batched `(image, labels)`.

    Args:
        dataset: `tf.data.Dataset` of unbatched TFDS `celeb_a` feature dicts.
        num_tasks: Python int, how many attributes (alphabetical order) are tasks.
        batch_size: Python int.
        shuffle: Whether to shuffle (seeded by `seed`).
        seed: Python int.
        drop_remainder: Whether to drop the last incomplete batch.
        image_size: Python int, output height and width.
        normalization: See `preprocess_celeba`.
        shuffle_buffer: Python int, shuffle buffer size.

    Returns:
        A `tf.data.Dataset` of `(image [B, S, S, 3] float32, labels [B, T] int32)`.
    """
    if batch_size < 1:
        raise ValueError(f"`batch_size` must be >= 1. Received: batch_size={batch_size}")
    task_names = celeba_task_names(num_tasks)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.map(
        lambda f: preprocess_celeba(f, task_names, image_size, normalization),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return dataset.batch(batch_size, drop_remainder=drop_remainder).prefetch(
        tf.data.AUTOTUNE
    )


def load_celeba(split, data_dir=None, download=False, **pipeline_kwargs):
    """Loads a CelebA split from TFDS and applies `celeba_pipeline`.

    Args:
        split: TFDS split string, e.g. `"train"`, `"validation"`, `"test"`.
        data_dir: Optional TFDS data directory.
        download: Whether TFDS may download and prepare the data (large; the
            official files come from Google Drive and often need manual steps).
        **pipeline_kwargs: Passed to `celeba_pipeline`.

    Returns:
        A `tf.data.Dataset` of `(image, labels)` batches.

    Raises:
        FileNotFoundError: When `download=False` and the prepared data is absent.
        ImportError: When `tensorflow-datasets` is not installed (it comes with
            the `tf_drpm[trainers]` extra).
    """
    try:
        import tensorflow_datasets as tfds  # Lazy: importing TFDS is slow.
    except ImportError as e:
        raise ImportError(
            "CelebA is read through tensorflow-datasets, which is not installed: "
            "`pip install tensorflow-datasets` (or the `tf_drpm[trainers]` extra).") from e

    builder = tfds.builder("celeb_a", data_dir=data_dir)
    if not download and not builder.is_prepared():
        raise FileNotFoundError(
            "TFDS 'celeb_a' is not prepared in "
            f"data_dir={builder.data_dir!r}. Prepare it with "
            "`tfds build celeb_a` (or pass download=True), or point `data_dir` "
            "to a directory that holds it."
        )
    if download:
        builder.download_and_prepare()
    dataset = builder.as_dataset(split=split, shuffle_files=False)
    return celeba_pipeline(dataset, **pipeline_kwargs)
