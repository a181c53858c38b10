"""Offline checks of the deployment files (k8s/, docker-compose.yml, deploy/).

Run by scripts/check-deploy as `python -m check_deploy` inside its tool venv,
which provides kubectl (for `kubectl kustomize`), hadolint, kubernetes-validate,
jsonschema, PyYAML and crossplane; promtool comes from Debian's prometheus
package. Needs no network. One module per thing checked; __main__ runs them all:

  k8s          every kustomization under k8s/ rendered, each object validated
               (k8s_schemas) and cross-checked (k8s_objects; KEDA's streams
               against `oee-worker streams`); files no kustomization includes;
               the Secret template; migrate images
  compose      docker-compose.yml, and through it nginx (deploy/nginx/nginx.conf)
  dockerfile   deploy/Dockerfile (hadolint) and .dockerignore
  dashboard    deploy/grafana/oee.json, its queries against metric_names: what
               `oee-api metrics --list` and `oee-worker metrics --list` print
  prometheus   deploy/prometheus/: the alerting rules, their unit tests and the
               example configuration (promtool), the rules' metrics against
               metric_names, severities, annotations, runbooks
  common       the list of problems and what every module shares
"""
