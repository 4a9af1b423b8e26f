# A custom SDK container for Dataflow workers: Beam's own image of the pinned version with this
# project and its heavy dependencies preinstalled, so workers start without installing anything.
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/spyx-data:0.1.0 .
#   docker push REGION-docker.pkg.dev/PROJECT/REPO/spyx-data:0.1.0
#   python -m pipelines.shd --preset=dataflow \
#       --sdk_container_image=REGION-docker.pkg.dev/PROJECT/REPO/spyx-data:0.1.0 ...
# The Beam version must equal apache-beam in constraints.txt (a test checks it).
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/spyx-data
COPY pyproject.toml README.md constraints.txt ./
COPY spyx_data ./spyx_data
COPY pipelines ./pipelines
COPY runners ./runners
RUN pip install --no-cache-dir -c constraints.txt ".[build]"
