# adplan on the official Apache Airflow image.
#
# The base image's Airflow version must equal the `apache-airflow==` pin in requirements.lock
# (tests/test_docker_compose.py checks it): the lock is then installed on top of the image without
# upgrading or downgrading Airflow itself. To move Airflow, change requirements.in, re-lock, and bump
# the tag below in the same change.
#
#   docker compose build      (docker-compose.yaml builds this file as the image of every Airflow service)
FROM apache/airflow:3.3.2-python3.11

# The image runs as `airflow` with ~/.local as its virtualenv (VIRTUAL_ENV is set), so `uv pip install`
# installs into the environment Airflow runs from. Pinning apache-airflow to the image's version next to
# the lock makes the build fail loudly instead of swapping Airflow if the two ever disagree.
COPY --chown=airflow:0 requirements.lock /requirements.lock
RUN uv pip install --no-cache "apache-airflow==${AIRFLOW_VERSION}" -r /requirements.lock

# The project lives at /opt/airflow (= AIRFLOW_HOME), the same layout as the repository:
# plugins/adplan is the package, so adplan.settings.PROJECT_DIR resolves to /opt/airflow and finds
# include/ and sql/ beside it. docker-compose.yaml mounts the working tree over these folders; the
# copies make the image usable on its own. The editable install puts /opt/airflow/plugins on sys.path
# (for every process, not only Airflow's) and installs the `adplan` command.
COPY --chown=airflow:0 pyproject.toml README.md /opt/airflow/
COPY --chown=airflow:0 plugins/ /opt/airflow/plugins/
COPY --chown=airflow:0 dags/ /opt/airflow/dags/
COPY --chown=airflow:0 include/ /opt/airflow/include/
COPY --chown=airflow:0 sql/ /opt/airflow/sql/
RUN uv pip install --no-cache --no-deps -e /opt/airflow \
    && mkdir -p /opt/airflow/adplan-home /opt/airflow/auth

ENV ADPLAN_HOME=/opt/airflow/adplan-home \
    ADPLAN_PROJECT_DIR=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/airflow/dags \
    AIRFLOW__CORE__PLUGINS_FOLDER=/opt/airflow/plugins \
    AIRFLOW__CORE__LOAD_EXAMPLES=False
