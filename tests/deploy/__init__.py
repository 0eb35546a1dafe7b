"""Tests of deploy/: the image, the compose cluster and the Kubernetes manifests."""
