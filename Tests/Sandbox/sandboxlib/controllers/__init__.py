"""Controllers of the sandbox: ESO, Jobs, workloads (Deployment/StatefulSet/PVC) and Services."""
