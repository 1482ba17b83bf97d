"""Base-station drivers, one package each, behind `esl_controller.esl.link.StationLink`.

They are found through the `esl_controller.station_drivers` entry points (see
esl_controller.esl.registry), never imported by name from the core, and never import
each other.
"""
