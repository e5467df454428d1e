"""The text of the generated params reference (docs/params.md): one description per leaf key of
:data:`latentspace.params.SCHEMA`, which the generator completes with the default from params.yaml
and the allowed values from the schema. No stage imports this module, so editing a description
re-runs nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

def network_descriptions(kind: str, swept: str, what: str) -> dict[str, str]:
    """The keys of a network sampler's section (latentspace.samplers.network): its swept list,
    described by ``what``, and the training options every network shares."""
    return {
        f"sample.{kind}.{swept}": what,
        f"sample.{kind}.fit_rows": "The network trains on a seeded draw of at most this many training vectors, all "
                                   "when there are fewer, each component standardised.",
        f"sample.{kind}.epochs": "Passes over those vectors (Adam, seeded batches).",
        f"sample.{kind}.batch_size": "Vectors per training step.",
        f"sample.{kind}.hidden": "Units of each hidden layer of the network.",
        f"sample.{kind}.learning_rate": "Adam's learning rate; a loss that becomes non-finite names this key.",
    }


DESCRIPTIONS: dict[str, str] = {
    # data: where the raw images come from (stage download; the archive bounds also in prepare)
    "data.source": "Which faces the pipeline studies: synthetic faces rendered in CelebA's file format (offline), "
                   "real CelebA downloaded from `data.celeba.mirrors`, or your own images at `data.folder.path`. "
                   "Changes every output.",
    "data.synthetic.n_images": "Number of synthetic faces (images) the download stage renders; "
                               "`prepare.split` then divides them into training and held-out images.",
    "data.synthetic.seed": "Seed of the synthetic renderer: the same seed and `n_images` give byte-identical "
                           "images, attributes and generating factors.",
    "data.synthetic.workers": "Processes rendering the synthetic faces, at most one per CPU core (more warn and are "
                              "cut). Speed only: the images do not depend on it.",
    "data.celeba.download_dir": "Folder where CelebA's three files are downloaded, verified and kept across runs "
                                "(not a DVC output), so an interrupted download resumes. Use an absolute path for "
                                "queued experiments.",
    "data.celeba.mirrors.images": "Mirrors of img_align_celeba.zip, tried in order: each a Google Drive id or an "
                                  "https URL with the file's MD5 and optional size in bytes. A copy is used only if "
                                  "they match.",
    "data.celeba.mirrors.partition": "Mirrors of list_eval_partition.txt, CelebA's train/valid/test partition, "
                                     "which `prepare.split.method: official` needs; tried in order like the images'.",
    "data.celeba.mirrors.attributes": "Mirrors of list_attr_celeba.txt, CelebA's 40 binary attributes, which the "
                                      "attributes stage correlates and turns into directions; tried in order.",
    "data.folder.path": "With `data.source: folder`: img_align_celeba.zip, a folder holding it or "
                        "img_align_celeba/ (also Kaggle's layout), or any folder or zip of JPEG/PNG faces; read in "
                        "place, never copied.",
    "data.archive.max_members": "Most members (files and folders) an image zip may hold; a larger one is refused "
                                "before any image is decoded (download and prepare). A plain folder has no bound.",
    "data.archive.max_total_gib": "Most uncompressed size (GiB) of all members of an image zip together; a larger "
                                  "one is refused before decoding, a guard against zip bombs and mistaken paths.",

    # prepare: images -> one uint8 array and the train / held-out split
    "prepare.crop": "Side (px) of the centre square cut from each image before resizing; on CelebA's 178x218 "
                    "faces it sets how much of the face and background the model sees. Smaller images are skipped.",
    "prepare.image_size": "Side (px) of the square images the autoencoder trains on, and of every decoded face. "
                          "Must be divisible by the product of `model.strides`.",
    "prepare.reducing_gap": "JPEGs are decoded at 1/2, 1/4 or 1/8 scale while the crop keeps at least this many "
                            "times `image_size` px (Pillow's thumbnail rule); faster, pixels differ slightly. "
                            "null: full resolution.",
    "prepare.split.method": "`first`: the first `train_size` images (file order) train the autoencoder and the rest "
                            "are held out; `official`: CelebA's partition 0 trains, 1 and 2 are held out.",
    "prepare.split.train_size": "With `method: first`, how many images train the autoencoder (data/z.npy), as a "
                                "count (the series: 170,000 of CelebA) or a fraction; the rest are held out "
                                "(data/z_holdout.npy).",
    "prepare.workers": "Processes decoding the images, at most one per CPU core (more warn and are cut). Speed "
                       "only: data/images.npy does not depend on it.",
    "prepare.max_bad_fraction": "Unusable images (corrupt, too large, smaller than the crop) are skipped and listed "
                                "in data/skipped.csv; if more than this fraction of the images is, the stage fails. "
                                "0: any one fails it.",
    "prepare.max_image_pixels": "Images with more pixels (width x height) are refused from their header, never "
                                "decoded (decompression-bomb guard), and count as skipped.",

    # model: the convolutional autoencoder (stage train)
    "model.latent_dim": "Number of components of each latent vector: the dimension of the space every later stage "
                        "studies and samples in.",
    "model.filters": "Channels of the encoder's Conv2D layers, one entry per layer; the decoder mirrors them with "
                     "Conv2DTranspose layers. The list's length sets the depth.",
    "model.kernel_sizes": "Kernel side (px) of each convolutional layer, one per `model.filters` entry; the "
                          "decoder mirrors them, and its output layer uses the first.",
    "model.strides": "Stride of each convolutional layer, one per `model.filters` entry; their product divides "
                     "`prepare.image_size` down to the side of the last feature map.",
    "model.batch_norm": "Whether a BatchNormalization layer follows every convolutional layer of the encoder and "
                        "the decoder.",
    "model.activation": "Activation function after every convolutional layer; the decoder's output layer is always "
                        "a sigmoid (pixels in [0, 1]).",
    "model.dropout": "Dropout rate after every convolutional layer during training (fraction of activations "
                     "zeroed).",

    # train: fitting the autoencoder (models/autoencoder.keras, metrics/train.json, dvclive/)
    "train.seed": "Seeds the initial weights, dropout masks, the order of the batches in each epoch and the images "
                  "BatchNorm is recalibrated on: the same seed and params give the same weights.",
    "train.epochs": "Passes over the training images; the cosine schedule decays the learning rate over all of them. "
                    "Sets the model's quality and most of `make repro`'s time.",
    "train.batch_size": "Training images per optimizer step (the global batch, split over the GPUs with "
                        "`data_parallel`); also the batch of the reconstruction and recalibration passes. More than the "
                        "training images: one step per epoch, with a warning.",
    "train.optimizer": "Keras optimizer that fits the weights, at `train.learning_rate`.",
    "train.learning_rate": "The optimizer's step size; with `lr_schedule: cosine` its starting value. Too high a "
                           "rate diverges (the stage stops on a NaN loss) or learns nothing (`fail_if_trivial`).",
    "train.lr_schedule": "`cosine`: the learning rate falls from `learning_rate` to 0 along half a cosine over all "
                         "batches (lower loss for the same epochs); `constant`: it stays at `learning_rate`.",
    "train.loss": "Reconstruction loss minimised between images and their reconstructions; also the loss reported "
                  "as train_loss and val_loss in metrics/train.json and dvclive/.",
    "train.loader_threads": "Threads preparing batches ahead of the model. Speed only: batch contents and order "
                            "do not depend on it.",
    "train.validation_images": "The first this many held-out images (all, with a warning, when there are fewer) "
                               "give the per-epoch validation loss and metrics/train.json's val_loss and held-out "
                               "PSNR (dB).",
    "train.n_reconstructions": "Validation images shown in plots/reconstructions.png, originals above their "
                               "reconstructions: the number of columns of the grid.",
    "train.precision": "Keras dtype policy: `mixed_float16` and `mixed_bfloat16` compute in 16 bits with float32 "
                       "weights (faster on GPUs, slower on CPUs); the latent vectors and output stay float32.",
    "train.distribution": "`data_parallel`: each batch is split over all local GPUs (TensorFlow's MirroredStrategy, "
                          "JAX's DataParallel) and the gradients averaged; `none`: one device. docs/scaling.md.",
    "train.steps_per_execution": "Batches run per compiled training call: fewer Python round trips on a fast GPU. "
                                 "A speed setting.",
    "train.deterministic": "Deterministic ops, so the same params and seed give the same weights on a GPU too; "
                           "`false` is faster on GPUs. CPU kernels are repeatable either way.",
    "train.bn_recalibration_images": "After training, BatchNorm's moving statistics are recomputed from a seeded "
                                     "draw of at most this many training images, all when there are fewer (precise "
                                     "BN).",
    "train.fail_if_trivial": "`true`: a model whose held-out PSNR is no better than the mean training face's fails "
                             "the stage and no model is kept; `false`: a warning, and metrics/train.json shows both.",
    "train.backup_dir": "Folder (outside the stage's outputs) holding the training state after each epoch, so a "
                        "killed run resumes from its last finished epoch; cleared once the model is saved.",

    # encode: latent vectors of the training and held-out images
    "encode.batch_size": "Images per encoder call when writing data/z.npy and data/z_holdout.npy. Speed and "
                         "memory only.",

    # stats: per-component distributions and radii (part II)
    "stats.bin_width": "Width of the histogram bins of every component: mu (peak) lies on this grid and hw "
                       "(half-width) on half of it, which moves the dominant components and the intervals sampler.",
    "stats.dominant.hw_factor": "A component is dominant if its half-width hw is at least this many times the "
                                "median hw (or its mu passes `mu_factor`). Dominant components head paths and "
                                "histograms.",
    "stats.dominant.mu_factor": "A component is also dominant if its peak |mu| is at least this many times the "
                                "median half-width, i.e. it is centred off the origin. Sets metrics/stats.json's "
                                "n_dominant.",
    "stats.radius.b": "Half-widths b of the uniform [-b, b] boxes whose vectors' lengths are compared with the "
                      "real radii (parts II, IV): one series each in plots/radii.csv, one row each in "
                      "plots/radius_by_b.csv.",
    "stats.radius.n_uniform": "Uniform [-b, b] vectors drawn per value of `stats.radius.b` for the radius "
                              "comparison.",
    "stats.radius.bins": "Bins of the radius histograms in plots/radii.csv and plots/radii.png.",
    "stats.radius.seed": "Seed of the uniform [-b, b] vectors of the radius comparison.",
    "stats.max_histograms": "Most dominant components drawn in plots/dominant_histograms.png (lowest-numbered "
                            "first); which components are dominant is the data's call.",

    # correlate: Pearson correlations of the components (part III)
    "correlate.M": "Vectors drawn without replacement for the series' sample correlation (part III): its heatmap, "
                   "pair counts, listed pairs, scatter grid and slice. Must not exceed the number of vectors.",
    "correlate.seed": "Seed of the M-sample's draw (indices saved in data/corr_sample_idx.npy) and of the M-curve's "
                      "permutation.",
    "correlate.thresholds": "|r| thresholds at which component pairs are counted, in the M-sample and exactly: "
                            "plots/pairs_above.csv, the M-curve and metrics/correlation.json's count_error_max.",
    "correlate.pair_threshold": "Pairs with |r| above this in the M-sample are listed in plots/correlated_pairs.csv "
                                "and counted in metrics/correlation.json (pairs_above_sample, pairs_above_full).",
    "correlate.chunk_rows": "Rows per chunk of the exact all-vector correlation and the M-curve: sets memory, not "
                            "the results (beyond float round-off).",
    "correlate.m_curve": "Sample sizes M whose pair counts and |r_M - r| are plotted against M "
                         "(plots/sample_size.png); sizes at or above the vector count N are left out and the curve "
                         "ends at M = N.",
    "correlate.slice.components": "The two components left free in the series' slice (plots/slice.png): sampled "
                                  "vectors whose other components are all small, drawn in the plane of these two.",
    "correlate.slice.threshold": "A sampled vector is in the slice when every component except the two free ones "
                                 "has |z_k| below this (latent units).",
    "correlate.scatter.max_pairs": "Most correlated pairs of the M-sample drawn in plots/correlated_pairs.png, "
                                   "strongest first, four per row.",
    "correlate.scatter.b": "Half-width b of the uniform [-b, b] vectors drawn in red over the correlated pairs.",
    "correlate.scatter.n_uniform": "Uniform [-b, b] vectors drawn in red in plots/correlated_pairs.png.",
    "correlate.scatter.special_index": "Row of data/z.npy drawn in orange in every panel of "
                                       "plots/correlated_pairs.png, to follow one real vector across pairs.",
    "correlate.scatter.seed": "Seed of the uniform vectors drawn in plots/correlated_pairs.png.",

    # geometry: principal axes and Mahalanobis distances (parts IV, IX, X)
    "geometry.chunk_rows": "Rows per chunk of the streamed covariance behind the principal axes (data/pca.npz): "
                           "sets memory, not the results (beyond float round-off).",
    "geometry.core_quantile": "The core is the Mahalanobis distance below which this share of the real vectors lie "
                              "(core_radius); plots/uniform_core.csv gives the share of uniform vectors inside it.",
    "geometry.variance_targets": "Fractions of the total variance: for each, the fewest principal axes that explain "
                                 "it (plots/variance_targets.csv, marked in plots/pca_spectrum.png).",
    "geometry.uniform.b": "Half-widths b of uniform [-b, b] clouds placed against the real vectors' Mahalanobis "
                          "distances (plots/mahalanobis.csv, plots/uniform_core.csv).",
    "geometry.uniform.n": "Uniform [-b, b] vectors drawn per value of `geometry.uniform.b`.",
    "geometry.uniform.seed": "Seed of the uniform [-b, b] vectors placed against the core.",
    "geometry.top_axes": "Leading principal axes whose largest loadings are listed in plots/pca_loadings.csv.",
    "geometry.loadings_per_axis": "Components listed per axis in plots/pca_loadings.csv, by decreasing |loading|.",
    "geometry.bins": "Bins of the Mahalanobis distance histograms in plots/mahalanobis.csv and its figure.",

    # normality: how normal the cloud is (part VIII)
    "normality.test_size": "D'Agostino-Pearson's test runs on a seeded draw of at most this many vectors, all when "
                           "there are fewer: on all vectors any tiny deviation is significant, so this fixes the "
                           "test's power.",
    "normality.alpha": "A component or principal axis counts as normal when the test's p-value is above this; sets "
                       "the normal fractions in metrics/normality.json and the report.",
    "normality.seed": "Seed of the tested rows and of the points drawn in the projections.",
    "normality.chunk_rows": "Rows per chunk of the streamed statistics and projections: sets memory, not the "
                            "results (beyond float round-off).",
    "normality.pairs": "Most correlated component pairs (exact r) projected onto in plots/projections.png, with "
                       "the fitted normal's ellipses.",
    "normality.planes": "Leading principal planes (axes 1-2, 3-4, ...) drawn in plots/projections.png; the "
                        "plane of axes 1-2 gives plots/coverage.csv whatever the number drawn.",
    "normality.sigmas": "Mahalanobis radii k (standard deviations) of the fitted normal's ellipses: drawn in each "
                        "projection, and the share of vectors inside each is set against 1 - exp(-k^2/2).",
    "normality.max_points": "Points drawn in each projection: a seeded draw of at most this many vectors, all when "
                            "there are fewer. The ellipse coverage counts all vectors.",

    # paths: decoded straight lines through the cloud (parts V, VI)
    "paths.axes": "Leading principal axes walked from the cloud's centre and decoded in "
                  "plots/paths/principal_axes.png.",
    "paths.components": "Components walked from the centre in plots/paths/dominant_components.png: the dominant "
                        "ones by decreasing std, then the widest others.",
    "paths.extent": "Axis and component paths reach from -extent to +extent standard deviations of the cloud along "
                    "their direction.",
    "paths.steps": "Decoded images per axis or component path, evenly spaced; an odd number includes the centre.",
    "paths.interpolation.pairs": "Seeded pairs of real vectors joined by a straight line and decoded in "
                                 "plots/paths/interpolation.png.",
    "paths.interpolation.steps": "Decoded images per interpolation, both ends (the two real vectors' "
                                 "reconstructions) included.",
    "paths.interpolation.seed": "Seed of which real vectors are paired (rows recorded in plots/paths.json).",
    "paths.batch_size": "Vectors per decoder call. Speed and memory only.",

    # attributes: what components and axes follow, attribute directions and their pixel judge
    "attributes.chunk_rows": "Rows per chunk of the streamed correlations and attribute directions: sets memory, "
                             "not the results (beyond float round-off).",
    "attributes.heatmap_rows": "Components with the strongest attribute correlation shown in "
                               "plots/attribute_heatmap.png, and as many leading principal axes (also the axis rows "
                               "of plots/top_attributes.csv).",
    "attributes.directions": "Binary attributes (e.g. CelebA's Smiling) whose direction mean(z | with) - "
                             "mean(z | without) is added to real vectors, decoded and judged.",
    "attributes.strengths": "Multiples s of a direction d added to each face, z + s d, one column per value; must "
                            "hold 0 (the face itself) and a positive s, the largest of which gives own_change.",
    "attributes.faces": "Real vectors without the attribute (a seeded draw) each direction is added to: the rows "
                        "of each strip in plots/attribute_directions.png.",
    "attributes.seed": "Seed of the judge's training and test vectors, of the faces each direction is added to, "
                       "and of the judge's pixel PCA.",
    "attributes.judge.n_train": "Decoded real vectors (a seeded draw) the pixel judge is fitted on: one logistic "
                                "regression per binary attribute. Shrunk with n_test to fit a small dataset.",
    "attributes.judge.n_test": "Other decoded real vectors the judge is scored on: the accuracies in "
                               "plots/judge_scores.csv and judge_mean_balanced_accuracy in metrics/attributes.json.",
    "attributes.batch_size": "Vectors per decoder call. Speed and memory only.",

    # conditional: faces with / without an attribute, a sampler fitted to each class (docs/conditional.md)
    "conditional.attributes": "Binary attributes (e.g. CelebA's Smiling) to draw faces with and without: the sampler "
                              "is fitted to the training vectors of each class. Names must be columns of "
                              "data/index.csv.",
    "conditional.sampler": "The sampler kind (a section of `sample`, with its default options) fitted to each "
                           "class and, as the baseline, to all training vectors.",
    "conditional.value": "The sampler's swept param, e.g. the normal's scale or the mixture's k (then an integer); "
                         "the sampler's own bounds apply.",
    "conditional.n": "Vectors drawn per class and for the unconditional baseline: the judge's shares and the "
                     "quality scores use all of them. Must exceed both k.",
    "conditional.faces": "Decoded draws shown per row of plots/conditional.png (a row with, a row without each "
                         "attribute): the first ones drawn.",
    "conditional.seed": "Seed of the judge's vectors and pixel PCA, and of every draw (one generator per sampler "
                        "setting, attribute and class, so adding an attribute leaves the others' draws as they were).",
    "conditional.judge.n_train": "Decoded training vectors (a seeded draw) the pixel judge is fitted on: one logistic "
                                 "regression per chosen attribute. Shrunk with n_test to fit a small dataset.",
    "conditional.judge.n_test": "Other decoded training vectors the judge is scored on: judge_mean_balanced_accuracy "
                                "in metrics/conditional.json, which says how far its shares can be trusted.",
    "conditional.batch_size": "Vectors per decoder call. Speed and memory only.",
    "conditional.k_precision": "k of the k-nearest-neighbour balls of precision and recall of each class's draws "
                               "against held-out vectors of the class (as `evaluate.k_precision`).",
    "conditional.k_density": "k of the k-nearest-neighbour balls of density and coverage of each class's draws "
                             "(as `evaluate.k_density`).",

    # neighbours: are generated vectors new, or copies of training vectors?
    "neighbours.k": "Nearest training vectors found for each generated one and decoded beside the examples in "
                    "plots/neighbour_examples.png; the distances use the nearest one.",
    "neighbours.n_real": "A seeded draw of at most this many training vectors, all when there are fewer, whose "
                         "distance to their nearest other one is the yardstick (real_nn_median, near-copy "
                         "threshold).",
    "neighbours.examples": "Generated vectors per sampler setting (a seeded draw) shown beside their nearest real "
                           "faces in plots/neighbour_examples.png.",
    "neighbours.bins": "Bins of the nearest-neighbour distance histograms in plots/neighbours.csv and its figure.",
    "neighbours.seed": "Seed of the reference training vectors and of the examples shown.",
    "neighbours.batch_size": "Vectors per decoder call for the examples. Speed and memory only.",

    # sample: new latent vectors, one file per sampler setting (docs/samplers.md)
    "sample.seed": "With each setting's name, seeds that setting's generator, so adding a value to a list leaves "
                   "the other settings' vectors unchanged.",
    "sample.n": "Vectors drawn per sampler setting: evaluate scores all of them (and as many training vectors as "
                "the baseline); decode and neighbours show a few.",
    "sample.score_rows": "Each density's fitted-vector log-likelihood in plots/density_fit.csv is the mean over a "
                         "seeded draw of at most this many of the vectors it was fitted to (all held-out vectors "
                         "are scored); n_fitted says how many.",
    "sample.uniform.b": "Half-widths b: every component uniform on [-b, b], blind to the cloud (parts II, IV). One "
                        "setting per value.",
    "sample.intervals.fact": "Width factors: component j uniform on [mu_j - fact*hw_j, mu_j + fact*hw_j] around its "
                             "histogram peak (part VII). One setting per value.",
    "sample.gaussian.scale": "Scales of independent normals N(mean_j, (scale*std_j)^2) per component, correlations "
                             "ignored. One setting per value.",
    "sample.normal.scale": "Scales of the multivariate normal N(mean, scale^2 Sigma) with the full covariance (part "
                           "VIII; RAE). One setting per value.",
    "sample.principal_axes.truncation": "Each principal-axis coordinate normal, truncated at +- this many standard "
                                        "deviations (parts IX, X); small values keep to the middle.",
    "sample.mixture.k": "Components k of a Gaussian mixture with full covariances fitted to the training vectors "
                        "(the RAE paper's ex-post density), one setting per value, each scored in "
                        "plots/density_fit.csv.",
    "sample.mixture.fit_rows": "The mixture's EM runs on a seeded draw of at most this many training vectors, all "
                               "when there are fewer; their mean log-likelihood (nats) is log_likelihood_fitted.",
    "sample.mixture.max_iter": "Most EM iterations per mixture fit; one that has not converged by then warns and "
                               "shows converged = 0 in plots/density_fit.csv.",
    "sample.mixture_chosen.k_max": "Largest number of components the chosen-k mixture may try (k doubles from 1 "
                                   "while each doubling scores held-aside vectors better beyond the noise); the "
                                   "chosen k is in plots/density_fit.csv (components) and the setting's label.",
    "sample.mixture_chosen.fit_rows": "Seeded draw of at most this many training vectors: validation_rows of them are "
                                      "held aside for choosing k, the EM runs on the rest.",
    "sample.mixture_chosen.max_iter": "Most EM iterations per mixture fit of the search.",
    "sample.mixture_chosen.validation_rows": "At most this many of those vectors (and at most a quarter) are held "
                                             "aside: each tried k is scored by their mean log-likelihood.",
    "sample.mixture_chosen.standard_errors": "The fewest components whose held-aside score is within this many "
                                             "standard errors (of the paired per-vector difference) of the best "
                                             "k tried are kept; larger values choose fewer components.",
    "sample.kde.bandwidth": "Standard deviations h (latent units) of the Gaussian kernels: each vector is a "
                            "training vector plus N(0, h^2 I). Small h copies training vectors; plots/density_fit.csv "
                            "scores each h on held-out vectors.",
    "sample.kde.fit_rows": "The kernels sit on a seeded draw of at most this many training vectors, all when there "
                           "are fewer; the fitted-vector log-likelihood is scored on them.",
    **network_descriptions("flow", "layers", "Affine coupling layers of the RealNVP flow, one setting per value: "
                           "more layers follow a more curved cloud (and learn the fitted vectors more closely)."),
    **network_descriptions("vae", "latent_dim", "Latent dimensions of the second-stage VAE, one setting per value; its "
                           "ELBO, a lower bound of its log-likelihood, is in plots/density_fit.csv (lower_bound = 1)."),
    **network_descriptions("diffusion", "steps", "Noise levels T of the DDPM chain, one setting per value; drawing "
                           "runs T denoiser calls. No tractable density: judged by its draws only."),
    "sample.neighbourhood.t_max": "Vectors x + t (y - x), x a training vector, y one of its k nearest, "
                                  "t ~ U(0, t_max): 1 reaches the neighbour, small values make near-copies.",
    "sample.neighbourhood.k": "Nearest other training vectors among which the neighbourhood sampler picks y.",

    # decode: the sampled vectors as faces
    "decode.columns": "Columns of each setting's grid in plots/decoded/ and plots/decoded_overview.png; the grid "
                      "shows the first rows x columns vectors.",
    "decode.rows": "Rows of each setting's grid of decoded faces; with `decode.columns`, how many of `sample.n` "
                   "vectors are shown (more than `sample.n`: the grids end early, with a warning).",
    "decode.batch_size": "Vectors per decoder call. Speed and memory only.",

    # evaluate: each sampler setting scored against held-out vectors (plots/sampling.csv, metrics/sampling.json)
    "evaluate.n_reference": "The reference is a seeded draw of at most this many held-out vectors, all when there "
                            "are fewer: samples' precision, recall, density, coverage and Fréchet distance are "
                            "measured against it.",
    "evaluate.k_precision": "k of the k-nearest-neighbour balls of precision and recall (Kynkäänniemi et al. "
                            "2019): larger balls make both more lenient.",
    "evaluate.k_density": "k of the k-nearest-neighbour balls of density and coverage (Naeem et al. 2020).",
    "evaluate.core_quantile": "A sample is in-core when its Mahalanobis distance lies in the central range holding "
                              "this share of the held-out vectors' distances: the in_core score.",
    "evaluate.near_copy_quantile": "A sample nearer a training vector than this quantile of the held-out vectors "
                                   "are counts as a near-copy: near_copy_fraction (equal to this for the baseline).",
    "evaluate.bins": "Bins of the radius histograms in plots/sampling_radii.csv and plots/sampling_radii.png.",
    "evaluate.seed": "Seed of the held-out reference draw and of the training vectors scored as the `real` "
                     "baseline.",
    "evaluate.batch_size": "Vectors per decoder and encoder call of the decode / re-encode round trip. Speed and "
                           "memory only.",
    "evaluate.bootstrap.resamples": "Bootstrap replicates behind every metric's interval in plots/sampling.csv "
                                    "(<metric>_low, <metric>_high) and plots/frechet_differences.csv: each redraws "
                                    "the rows of the sample set and of the held-out reference with replacement.",
    "evaluate.bootstrap.level": "Share of the replicates each interval holds (percentile bootstrap); the report "
                                "calls a difference beyond the noise when its interval excludes 0.",
    "evaluate.fid.n": "Decoded samples per setting and held-out images compared by FID (at most what there is); "
                      "only when InceptionV3's ImageNet weights are already in the Keras cache.",
    "evaluate.fid.image_size": "Side (px) the decoded and held-out images are resized to (bilinear) before "
                               "InceptionV3 computes the FID features; changes the FID values.",
}


def leaf_keys(schema: dict, prefix: str = "") -> list[str]:
    """The dotted keys of ``schema``'s leaves (any value that is not a dict), in its order:
    ``leaf_keys(SCHEMA)`` starts ``["data.source", "data.synthetic.n_images", ...]``."""
    keys = []
    for key, spec in schema.items():
        if isinstance(spec, dict):
            keys += leaf_keys(spec, f"{prefix}{key}.")
        else:
            keys.append(f"{prefix}{key}")
    return keys


def allowed_values(spec) -> str:
    """What a leaf of the schema accepts, as the reference prints it."""
    return spec.allowed()


def readers(stages: dict, key: str) -> list[str]:
    """The stages of ``dvc.yaml`` that read ``key``: those listing it, a section above it, or a key under it."""
    return [name for name, stage in stages.items()
            if any(key == p or key.startswith(p + ".") or p.startswith(key + ".") for p in stage.get("params", []))]


def _flow(value) -> str:
    """A default as one line of YAML, e.g. ``[0.5, 1.0]``; an empty string shows as ``""``."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return text.removesuffix("\n...").removesuffix(" ...") if text not in ("''", "") else '""'


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(schema: dict, defaults: dict, stages: dict, switched_off: dict[str, dict[str, str]]) -> str:
    """docs/params.md: per section, one row per key: default, allowed values, stages that read it, meaning.

    ``switched_off`` maps a section to its ``SWITCHED_OFF`` (key -> what 0 or [] does).
    """
    lines = ["# Params reference", "",
             "Every key of [`params.yaml`](../params.yaml): its default, what the check allows, the stages that",
             "read it (from [`dvc.yaml`](../dvc.yaml)) and what it changes. Generated from the schema",
             "(`src/latentspace/schema/`) and the descriptions in `src/latentspace/params_reference.py` by",
             "`make params-doc`; a test fails when this page differs from what they generate.", "",
             "A value outside what is allowed stops the first stage that runs with one line naming the key",
             "([reliability.md](reliability.md#bad-input)). Where a legal 0 or empty list turns an output off,",
             "the row says what the outputs hold then, and the stage prints a warning.", ""]
    for section, keys in schema.items():
        lines += [f"## `{section}`", "",
                  f"Checked by [`src/latentspace/schema/{section}.py`](../src/latentspace/schema/{section}.py).", "",
                  "| key | default | allowed | read by | what it does |", "|---|---|---|---|---|"]
        for key in leaf_keys(keys, f"{section}."):
            spec, value = keys, defaults
            for part in key.split(".")[1:]:
                spec = spec[part]
            for part in key.split("."):
                value = value[part]
            text = DESCRIPTIONS[key]
            off = switched_off.get(section, {}).get(key.removeprefix(f"{section}."))
            if off:
                text += f" **{_flow([] if isinstance(value, list) else 0)}:** {off}."
            stages_reading = ", ".join(f"`{name}`" for name in readers(stages, key))
            lines.append(f"| `{key}` | `{_cell(_flow(value))}` | {_cell(allowed_values(spec))} | {stages_reading} | "
                         f"{_cell(text)} |")
        lines.append("")
    return "\n".join(lines)


def build(repo: Path) -> str:
    """The reference page for the repository at ``repo``."""
    from latentspace import params

    defaults = yaml.safe_load((repo / "params.yaml").read_text())
    stages = yaml.safe_load((repo / "dvc.yaml").read_text())["stages"]
    switched_off = {name: getattr(params.section_schema(name), "SWITCHED_OFF", {}) for name in params.SECTIONS}
    return render(params.SCHEMA, defaults, stages, switched_off)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/params.md from the params schema and DESCRIPTIONS.")
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/params.md is not what it would be")
    args = parser.parse_args(argv)
    page, target = build(args.repo), args.repo / "docs" / "params.md"
    if args.check:
        if not target.exists() or target.read_text() != page:
            print(f"{target} is out of date: run `make params-doc`", file=sys.stderr)
            return 1
        return 0
    target.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
