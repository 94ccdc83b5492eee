"""The text of the exported ``train.py`` (kept as text: CNN Studio never runs or imports torch)."""

TRAIN_PY = r'''#!/usr/bin/env python3
"""Train the exported CNN Studio network with PyTorch DistributedDataParallel.

One machine, N processes (CPU: gloo, GPU: nccl, chosen by itself):
    torchrun --standalone --nproc_per_node=N train.py --epochs E
Several machines: see README.md. Without torchrun (python train.py) it trains in one process.
Rank 0 prints each epoch's loss and accuracy, saves a checkpoint (checkpoints/, safetensors:
no pickle) and, with --write-back OUT.cnnproj, writes the trained weights into a project CNN Studio opens.
"""

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from safetensors.torch import load_file, save_file
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from model import MODEL

HERE = Path(__file__).resolve().parent
#: the project's training settings at export time
DEFAULTS = __DEFAULTS__


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"], help="images per step per process")
    p.add_argument("--optimizer", choices=["sgd", "adam"], default=DEFAULTS["optimizer"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--data", default=str(HERE / "data.npz"), help="npz with x_train, y_train, x_val, y_val")
    p.add_argument("--weights", default=str(HERE / "weights.safetensors"), help="starting weights")
    p.add_argument("--checkpoints", default=str(HERE / "checkpoints"), help="folder for per-epoch checkpoints")
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in --checkpoints")
    p.add_argument("--write-back", metavar="OUT.cnnproj", help="write the trained weights into a CNN Studio project")
    return p.parse_args()


def images(x):
    """uint8 (N, H, W, C) -> float32 (N, C, H, W) raw pixels (the module preprocesses them)."""
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).float()


def main():
    args = parse_args()
    distributed = "RANK" in os.environ   # set by torchrun
    cuda = torch.cuda.is_available()
    if distributed:
        dist.init_process_group("nccl" if cuda else "gloo")
    rank = dist.get_rank() if distributed else 0
    world = dist.get_world_size() if distributed else 1
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)
    torch.manual_seed(args.seed)

    with np.load(args.data, allow_pickle=False) as data:
        train = TensorDataset(images(data["x_train"]), torch.from_numpy(data["y_train"].astype(np.int64)))
        x_val, y_val = images(data["x_val"]), torch.from_numpy(data["y_val"].astype(np.int64))

    model = MODEL().to(device)
    model.load_state_dict(load_file(args.weights, device=str(device)))
    params = model.parameters()
    if args.optimizer == "sgd":
        opt = torch.optim.SGD(params, lr=args.lr, momentum=DEFAULTS["momentum"], weight_decay=DEFAULTS["weight_decay"])
    else:
        opt = torch.optim.Adam(params, lr=args.lr, weight_decay=DEFAULTS["weight_decay"])
    start, history = 0, []
    ckpt_dir = Path(args.checkpoints)
    if args.resume and (ckpt_dir / "last.json").exists():
        info = json.loads((ckpt_dir / "last.json").read_text())
        model.load_state_dict(load_file(str(ckpt_dir / info["weights"]), device=str(device)))
        start, history = info["epoch"], info["history"]
    net = DistributedDataParallel(model, device_ids=[local] if cuda else None) if distributed else model

    sampler = DistributedSampler(train, num_replicas=world, rank=rank, shuffle=True, seed=args.seed)
    loader = DataLoader(train, batch_size=args.batch_size, sampler=sampler)
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    for epoch in range(start, start + args.epochs):
        sampler.set_epoch(epoch)
        net.train()
        t0 = time.perf_counter()
        totals = torch.zeros(3, dtype=torch.float64, device=device)   # loss sum, correct, count
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            logits = net(x)
            loss = loss_fn(logits, y)
            (loss / len(y)).backward()
            opt.step()
            totals += torch.tensor([loss.item(), (logits.argmax(1) == y).sum().item(), len(y)],
                                   dtype=torch.float64, device=device)
        if distributed:
            dist.all_reduce(totals)
        seconds = time.perf_counter() - t0
        if rank == 0:
            record = {"epoch": epoch + 1, "train_loss": totals[0].item() / totals[2].item(),
                      "train_acc": totals[1].item() / totals[2].item(), "val_loss": None, "val_acc": None,
                      "lr": args.lr, "seconds": round(seconds, 3),
                      "images_per_sec": round(totals[2].item() / max(seconds, 1e-9), 1)}
            if len(y_val):
                model.eval()
                with torch.no_grad():
                    logits = model(x_val.to(device))
                    record["val_loss"] = nn.functional.cross_entropy(logits, y_val.to(device)).item()
                    record["val_acc"] = (logits.argmax(1).cpu() == y_val).float().mean().item()
            history.append(record)
            val = (f"  val_loss {record['val_loss']:.4f}  val_acc {100 * record['val_acc']:.2f}%"
                   if record["val_loss"] is not None else "")
            print(f"epoch {epoch + 1}/{start + args.epochs}  loss {record['train_loss']:.4f}  "
                  f"acc {100 * record['train_acc']:.2f}%{val}  ({seconds:.1f} s, {world} processes)", flush=True)
            ckpt_dir.mkdir(parents=True, exist_ok=True)
            name = f"epoch-{epoch + 1:04d}.safetensors"
            save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(ckpt_dir / name))
            tmp = ckpt_dir / "last.json.tmp"
            tmp.write_text(json.dumps({"epoch": epoch + 1, "weights": name, "history": history}))
            os.replace(tmp, ckpt_dir / "last.json")
        if distributed:
            dist.barrier()

    if rank == 0:
        state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(HERE / "trained.safetensors"))
        print(f"trained weights: {HERE / 'trained.safetensors'}", flush=True)
        if args.write_back:
            from cnnstudio.project.export.torch_export import write_back   # needs CNN Studio installed

            arrays = {k: v.numpy() for k, v in state.items()}
            out = write_back(HERE / "project.cnnproj", arrays, args.write_back, history[-args.epochs:])
            print(f"wrote {out}; open it with: cnnstudio gui {out}", flush=True)
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
'''
