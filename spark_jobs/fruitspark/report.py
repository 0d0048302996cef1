"""The PCA report's figures, drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

LEGEND_MAX_CLASSES = 20


def plot_explained_variance(report: dict, path: Path) -> None:
    components = range(1, report["k"] + 1)
    figure, axis = plt.subplots(figsize=(8, 4.5))
    axis.bar(components, report["explained_variance"], label="per component")
    axis.plot(
        components, report["cumulative_variance"], color="tab:red", marker=".", label="cumulative"
    )
    if report["target_variance"]:
        axis.axhline(report["target_variance"], color="grey", linestyle="--", label="target")
    axis.set(
        xlabel="principal component",
        ylabel="share of variance",
        ylim=(0, 1.05),
        title=f"{report['model']}: {report['k']} components, "
        f"{report['cumulative_variance'][-1]:.1%} of the variance ({report['rows']} images)",
    )
    axis.legend(loc="center right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_scatter(sample: pd.DataFrame, report: dict, path: Path) -> None:
    """PC1 against PC2 (PC1 alone, spread on a line, when k is 1), coloured by label."""
    figure, axis = plt.subplots(figsize=(8, 6))
    labels = sorted(sample["label"].unique())
    palette = "tab10" if len(labels) <= 10 else "tab20" if len(labels) <= 20 else "turbo"
    colours = plt.get_cmap(palette, len(labels))
    for index, label in enumerate(labels):
        points = sample[sample["label"] == label]
        second = points["pc2"] if report["k"] > 1 else [0.0] * len(points)
        axis.scatter(points["pc1"], second, s=8, color=colours(index), label=label)
    axis.set(
        xlabel="PC1",
        ylabel="PC2" if report["k"] > 1 else "",
        title=f"{report['model']}: first two components, {len(sample)} of {report['rows']} "
        f"images, {report['classes']} classes",
    )
    if len(labels) <= LEGEND_MAX_CLASSES:
        axis.legend(fontsize="small", markerscale=2, loc="best")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
