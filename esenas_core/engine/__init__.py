"""The ES engine: rollouts, θ replicas and noise, the estimator and optimizers, the training
loop, the run's state and checkpoints."""
