"""ML core of the credit-scoring platform: data, validation, training, evaluation, registry, drift."""
