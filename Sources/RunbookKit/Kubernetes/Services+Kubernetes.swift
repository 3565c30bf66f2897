extension Services {
    /// The run's Kubernetes client, resolved once from `--kubeconfig`/`--context`/environment.
    public func kubernetes() throws -> KubeClient {
        try shared("kube") {
            KubeClient(connection: try KubeConnection.resolve(options), environment: options.environment)
        }
    }
}
