"""When a new version is due: a refit re-projects all history, so it follows the model, not
the calendar. Plain values in, a decision out: no Spark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fruits_contract.refit import FIRST_RUN, FULL_MODE, PREDATES_APPENDS, known_refit_reason
from fruitspark.pca.maths import Fit


@dataclass(frozen=True)
class Decision:
    refit: bool
    reason: str  # why a refit is due, or why the published model still holds
    kept_variance: float | None  # the published components' share of today's variance
    drift: float | None  # how far that share fell since the fit (negative: it rose)


@dataclass(frozen=True)
class Policy:
    k: int | None  # asked for: exactly one of k and variance
    variance: float | None
    drift: float  # the fall in kept variance tolerated before a refit
    refit_days: int  # the oldest a published fit may get
    forced: bool = False  # --mode full: a rebuild refits whatever the drift


def fitted_with(policy: Policy) -> dict:
    """What the manifest records of the request a fit answered."""
    return {"k": policy.k, "variance": policy.variance}


def decide(
    policy: Policy,
    published: dict | None,
    published_fit: Fit | None,
    kept: float | None,
    fresh: Fit,
    model_id: str | None,
    now: datetime,
) -> Decision:
    """published is the _LATEST manifest (None before the first run); kept is what its
    components keep of today's variance, as maths.kept_variance measures it."""
    known = known_refit_reason(published, policy.forced, now, policy.refit_days)
    if published is None:
        return Decision(True, FIRST_RUN, None, None)
    if policy.forced:
        return Decision(True, FULL_MODE, kept, None)
    if "segments" not in published or published_fit is None:
        return Decision(True, PREDATES_APPENDS, None, None)
    if kept is None:
        raise ValueError("what the published components keep is measured once they exist")
    # With a variance target the components must still reach it; with a fixed k, keep what
    # they kept when fitted.
    reference = published["variance"] if policy.variance is None else policy.variance
    drift = published["variance"] - kept
    if published.get("model_id") != model_id:
        return Decision(True, "the features now come from another model file", kept, drift)
    if published.get("fitted_with") != fitted_with(policy):
        return Decision(
            True,
            f"the size asked changed to {_size(fitted_with(policy))} "
            f"(published: {_size(published.get('fitted_with'))})",
            kept,
            drift,
        )
    if policy.k is None and fresh.k != published_fit.k:
        return Decision(True, f"k would change from {published_fit.k} to {fresh.k}", kept, drift)
    if kept < reference - policy.drift:
        return Decision(
            True,
            f"the published components keep {kept:.2%} of the variance, more than "
            f"{policy.drift:.2%} below {reference:.2%}",
            kept,
            drift,
        )
    if known is not None:  # the fit's age: fruits_contract.refit
        return Decision(True, known, kept, drift)
    return Decision(
        False,
        f"the published components keep {kept:.2%} of the variance ({published['variance']:.2%}"
        f" when fitted; a refit below {reference - policy.drift:.2%}), and k would stay "
        f"{published_fit.k}",
        kept,
        drift,
    )


def _size(request: dict | None) -> str:
    if not request:
        return "unknown"
    return f"--k {request['k']}" if request.get("k") else f"--variance {request.get('variance')}"
