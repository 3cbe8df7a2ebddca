"""Training: fine-tuning the action-conditioned predictor on cached encoder tokens
(:mod:`wm_control.training.trainer`) and self-supervised pretraining of small encoders
(:mod:`wm_control.training.pretrain`)."""
