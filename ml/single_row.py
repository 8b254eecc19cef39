"""LightGBM's single-row fast path (`LGBM_BoosterPredictForMatSingleRowFast`) for one client at a time.

`Booster.predict` rebuilds a predictor and its parameter string on every call and crosses into C
several times (each a GIL release another thread may take for a whole switch interval): ~60 µs for
one row here against ~11 µs through a FastConfig prepared once per model. Same trees, same numbers.
"""

from __future__ import annotations

import ctypes
import threading
import weakref
from typing import Any

import lightgbm as lgb
import numpy as np
from lightgbm.basic import _safe_call

_LIB: Any = vars(lgb.basic)["_LIB"]  # the loaded lib_lightgbm (not exported by name)

_PREDICT_NORMAL = 0  # C_API_PREDICT_NORMAL: probabilities, as Booster.predict gives by default
_PREDICT_LEAF_INDEX = 2  # C_API_PREDICT_LEAF_INDEX: the leaf reached in each tree (pred_leaf=True)
_DTYPE_FLOAT64 = 1  # C_API_DTYPE_FLOAT64


class SingleRowPredictor:
    """Probability (or, with `leaves`, the leaf index in every tree) for one built row; thread-safe
    (one FastConfig, used under a lock)."""

    def __init__(self, booster: lgb.Booster, width: int, leaves: bool = False) -> None:
        self._booster = booster  # the FastConfig points into it: keep it alive as long as this
        self._width = width
        self._out = np.empty(booster.num_trees() if leaves else 1, dtype=np.float64)
        self._out_ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
        self._out_len = ctypes.c_int64()
        self._lock = threading.Lock()
        handle = ctypes.c_void_p()
        _safe_call(
            _LIB.LGBM_BoosterPredictForMatSingleRowFastInit(
                booster._handle,
                ctypes.c_int(_PREDICT_LEAF_INDEX if leaves else _PREDICT_NORMAL),
                ctypes.c_int(0),  # start iteration
                ctypes.c_int(-1),  # every iteration (the best one when the booster was saved)
                ctypes.c_int(_DTYPE_FLOAT64),
                ctypes.c_int32(width),
                ctypes.c_char_p(b"num_threads=1"),
                ctypes.byref(handle),
            )
        )
        self._handle = handle
        weakref.finalize(self, _LIB.LGBM_FastConfigFree, handle)

    def predict(self, row: np.ndarray) -> float:
        """The probability of default of one built row (`width` float64 values)."""
        return float(self._run(row)[0])

    def leaves(self, row: np.ndarray) -> np.ndarray:
        """The leaf index reached in each tree by one built row, as `predict(pred_leaf=True)` gives."""
        return self._run(row).astype(np.int64)

    def _run(self, row: np.ndarray) -> np.ndarray:
        values = np.ascontiguousarray(row, dtype=np.float64).reshape(-1)
        if values.shape[0] != self._width:
            raise ValueError(f"expected {self._width} values, got {values.shape[0]}")
        with self._lock:
            _safe_call(
                _LIB.LGBM_BoosterPredictForMatSingleRowFast(
                    self._handle,
                    values.ctypes.data_as(ctypes.c_void_p),
                    ctypes.byref(self._out_len),
                    self._out_ptr,
                )
            )
            return self._out.copy()
