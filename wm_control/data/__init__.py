"""Datasets: recording simulated episodes (:mod:`wm_control.data.recording`) and reading them."""
