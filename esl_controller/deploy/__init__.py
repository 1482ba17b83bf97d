"""Deployment artefacts generated from the store's data: the Mosquitto ACL and passwd."""
