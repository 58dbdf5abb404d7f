FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY api api
COPY loyalty loyalty
COPY models models
COPY recommend recommend
RUN pip install --no-cache-dir .
# Production: no introspection, GraphiQL or name suggestions; weak or placeholder keys refused.
ENV OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 LOYALTY_PRODUCTION=true
EXPOSE 8000
CMD ["loyalty", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
