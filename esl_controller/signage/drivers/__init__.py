"""Screen drivers: each implements `esl_controller.signage.channel.PlayerChannel` and is found
through the registry (`esl_controller.signage.channel_registry`), never imported by the core."""
