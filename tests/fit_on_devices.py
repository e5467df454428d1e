"""Train a tiny autoencoder with `latentspace.training.train_autoencoder` in a fresh process.

The backend (KERAS_BACKEND) and the number of logical CPU devices are fixed when a process
starts, so tests/test_distribution.py runs this script once per configuration and compares
the weights it saves:

    KERAS_BACKEND=jax python tests/fit_on_devices.py --devices 2 --distribution data_parallel --out w.npz
"""

import argparse

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1, help="logical CPU devices")
    parser.add_argument("--distribution", default="none")
    parser.add_argument("--precision", default="float32")
    parser.add_argument("--steps-per-execution", type=int, default=1)
    parser.add_argument("--batch-norm", action="store_true")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--out", required=True, help=".npz of the weights, losses and latent vectors")
    parser.add_argument("--model", help="also save the model here (.keras)")
    args = parser.parse_args()

    from latentspace import distribution

    if args.devices > 1:
        distribution.split_host_cpu(args.devices)  # before the backend makes any tensor
    import keras

    from latentspace.model import ArchitectureConfig, build_autoencoder
    from latentspace.training import predict_in_batches, train_autoencoder

    images = np.random.default_rng(0).integers(0, 256, (80, 16, 16, 3), dtype=np.uint8)
    cfg = ArchitectureConfig(16, 8, (4, 8), (3, 3), (2, 2), args.batch_norm, "relu")
    distribution.set_precision(args.precision)
    with distribution.distributed(args.distribution) as replicas:
        model, history = train_autoencoder(
            cfg, images, np.arange(64), np.arange(64, 80), seed=3, epochs=args.epochs, batch_size=args.batch_size,
            optimizer="sgd", learning_rate=0.5, loss="mse", steps_per_execution=args.steps_per_execution)
        z = predict_in_batches(model.get_layer("encoder"), images, 16)
        if args.model:
            keras.saving.save_model(model, args.model)
    keras.utils.set_random_seed(3)  # as train_autoencoder does before building: its initial weights
    initial = build_autoencoder(cfg).get_weights()
    weights, initial = ([np.concatenate([np.asarray(w, dtype=np.float64).ravel() for w in ws])]
                        for ws in (model.get_weights(), initial))
    np.savez(args.out, weights=weights[0], initial=initial[0], loss=np.array(history["loss"]), val_loss=np.array(history["val_loss"]),
             z=z, replicas=replicas, backend=keras.backend.backend(), z_dtype=str(z.dtype),
             compute_dtype=model.get_layer("encoder").get_layer("encoder_conv_0").compute_dtype,
             optimizer=type(model.optimizer).__name__)


if __name__ == "__main__":
    main()
