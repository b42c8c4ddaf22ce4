"""``scratchnet train``: train an autoencoder on a dataset, checkpointing every epoch."""

import json
import math
from pathlib import Path

from .. import models, plot
from .._io import write_json
from ..experiment import (STEPS_HELP, positive_int, timer, writable_folder,
                          write_metrics_and_figures)
from ..models import decoded_images, model_input, split_validation
from ..nn import Callback
from ..report import report_or_warn
from ._common import (CHECKPOINT, CONFIG, DEFAULT_MODEL, LOSS_NAMES, MODELS, CLIError, add_common,
                      add_data_flags, build_model, load_data, read_config)


DEFAULT_EPOCHS = 20

# ---- train --------------------------------------------------------------------------------

def add_train(sub):
    p = sub.add_parser("train", help="train an autoencoder on a dataset, checkpointing each epoch")
    add_data_flags(p, dataset_required=False)
    p.add_argument("--model", choices=sorted(MODELS), default=None,
                   help="default: mnist-conv for (fashion-)mnist, cifar-conv for cifar10")
    p.add_argument("--epochs", type=positive_int, default=None,
                   help=f"total number of epochs (default: {DEFAULT_EPOCHS}; with --resume, "
                        f"the run's own)")
    p.add_argument("--steps", type=positive_int, default=None,
                   help=STEPS_HELP + "; the total of the run, resumed or not (with --resume, "
                                     "the run's own unless given)")
    p.add_argument("--out", required=True, help="folder for model.npz, train.json, figures")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last complete epoch")
    add_common(p)
    p.set_defaults(func=cmd_train)


class _CheckpointEachEpoch(Callback):
    """Save the autoencoder to ``path`` at the end of every epoch of one ``fit`` call.

    ``train`` makes a single ``fit`` call for the whole run, so that the progress bar knows
    the run's length (``Epoch 3/20``, not ``Epoch 3/3`` as one call per epoch showed), and
    checkpoints from here. ``Autoencoder.fit`` adds the call's losses to ``ae.history_`` only
    when it returns, so each save is made with the history so far (the run's earlier epochs
    plus this call's), and ``ae.history_`` is put back as it was for ``fit`` to extend.
    """

    def __init__(self, ae, path):
        self.ae, self.path = ae, path
        self.before = {k: list(v) for k, v in ae.history_.items()}

    def on_epoch_end(self, epoch, logs):
        kept = self.ae.history_
        self.ae.history_ = {k: v + list(self.history.history.get(k, []))
                            for k, v in self.before.items()}
        try:
            self.ae.save(self.path)
        finally:
            self.ae.history_ = kept


def _finished(out, ae):
    """Whether the run in ``out`` wrote its ``metrics.json`` for every epoch ``ae`` has and
    then drew its figures: a run killed after its last checkpoint did not."""
    try:
        metrics = json.loads((out / "metrics.json").read_text())
    except (OSError, ValueError):
        return False
    figures = metrics.get("figures")
    return (metrics.get("epochs") == len(ae.history_["loss"]) and figures is not None
            and all(Path(p).is_file() for p in figures.values()))


def cmd_train(args):
    out = Path(args.out)
    ckpt, config_path = out / CHECKPOINT, out / CONFIG
    if args.resume:
        if not (ckpt.is_file() and config_path.is_file()):
            raise CLIError(f"--resume: no checkpoint in {out} (expected {ckpt} and "
                           f"{config_path}); start without --resume")
        config = read_config(config_path)
        ignored = [k for k in ("dataset", "model", "split", "limit", "data_dir")
                   if getattr(args, k) is not None and getattr(args, k) != config[k]]
        if ignored:
            print(f"--resume: keeping the run's {', '.join(ignored)} from {config_path}")
        if args.epochs is None and args.steps is None:
            # the run's own length; one written before train.json kept it: the default
            args.epochs, args.steps = config["epochs"], config["steps"]
            if args.epochs is None and args.steps is None:
                args.epochs = DEFAULT_EPOCHS
                print(f"--resume: {config_path} does not say how long the run was; training "
                      f"to --epochs {DEFAULT_EPOCHS} (give --epochs or --steps to choose)")
        elif (args.epochs, args.steps) != (config["epochs"], config["steps"]):
            was = (f"--steps {config['steps']}" if config["steps"] is not None
                   else f"--epochs {config['epochs']}" if config["epochs"] is not None
                   else "an unrecorded length")
            now = f"--steps {args.steps}" if args.steps is not None else f"--epochs {args.epochs}"
            print(f"--resume: the run was started with {was}; it now goes to {now}")
    else:
        if ckpt.exists():
            raise CLIError(f"{ckpt} exists; continue it with --resume or choose another --out")
        if args.dataset is None:
            raise CLIError("--dataset is required (unless --resume)")
        if args.epochs is None and args.steps is None:
            args.epochs = DEFAULT_EPOCHS
        config = {"dataset": args.dataset, "model": args.model or DEFAULT_MODEL[args.dataset],
                  "split": args.split or "train", "limit": args.limit,
                  "data_dir": args.data_dir, "seed": args.seed}
    # the run's length as it now stands, kept for a later bare --resume
    config["epochs"], config["steps"] = (args.epochs, None) if args.steps is None \
        else (None, args.steps)
    writable_folder(out)
    for key in ("dataset", "split", "limit", "data_dir", "seed"):
        setattr(args, key, config[key])

    X, _ = load_data(args)
    if args.resume:
        ae = models.Autoencoder.load(ckpt)
    else:
        ae = build_model(config["model"], X.shape[1:], args.seed)
    start = len(ae.history_["loss"])                            # epochs done
    done = ae.optimizer_.t if ae.optimizer_ is not None else 0  # optimizer steps done
    train, val = split_validation(model_input(ae, X), args.seed)
    per_epoch = math.ceil(len(train) / ae.batch_size)
    if args.steps is None:
        end, unit, goal, have = args.epochs, "epochs", args.epochs, start
        length = {"epochs": end}
    else:
        # fit counts steps from epoch 0, every epoch before initial_epoch complete; a run
        # that ended inside an epoch (a smaller --steps) has done fewer: ask for the rest
        budget = args.steps + start * per_epoch - done
        end, unit, goal, have = math.ceil(budget / per_epoch), "steps", args.steps, done
        length = {"steps": budget}
    seconds = 0.0
    if have >= goal:
        if _finished(out, ae):
            print(f"{ckpt} already has {have} {unit} (--{unit} {goal}); nothing to do")
            return 0
        # killed after its last checkpoint, before metrics.json or the figures: finish those
        print(f"{ckpt} already has {have} {unit} (--{unit} {goal}); writing the metrics.json "
              f"and figures the run did not finish")
    else:
        if args.resume:
            print(f"resuming {config['model']} at epoch {start + 1} of {end}"
                  + (f", step {done + 1} of {args.steps}" if args.steps else ""))
        write_json(config_path, config)     # a new run's settings, or a resumed run's length
        with timer() as t:
            # One fit call for the run, a checkpoint after each epoch. Epoch e shuffles with
            # default_rng([seed, e]) and a resumed run restores the optimizer, so a run cut
            # and resumed computes exactly what an uninterrupted one does.
            ae.fit(train, initial_epoch=start, validation_data=val, random_state=args.seed,
                   verbose=not args.quiet, callbacks=[_CheckpointEachEpoch(ae, ckpt)],
                   **length)
        seconds = t.seconds
        print(f"trained epochs {start + 1}-{end} (optimizer steps {done + 1}-"
              f"{ae.optimizer_.t}) in {seconds:.1f} s; loss {ae.history_['loss'][-1]:.4f}, "
              f"val_loss {ae.history_['val_loss'][-1]:.4f}")
    metrics = {"config": config, "epochs": len(ae.history_["loss"]), "steps": ae.optimizer_.t,
               "history": ae.history_, "seconds_this_run": seconds}

    def draw(figures):
        with figures.draw("loss", "loss_curves.png") as path:
            plot.loss_curves(ae.history_, path=path, title=config["model"],
                             ylabel=LOSS_NAMES.get(ae.loss, ae.loss))
        with figures.draw("reconstructions", "reconstructions.png") as path:
            sample = X[:10]
            plot.reconstructions(sample, decoded_images(
                ae.reconstruct(model_input(ae, sample)), X.shape[1:]), path=path)
    write_metrics_and_figures(out, metrics, draw)
    report_or_warn(out)
    return 0
