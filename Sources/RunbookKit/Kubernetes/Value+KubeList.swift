extension Value {
    /// Objects as one `v1` `List` document, the form `kubectl get -o json` prints several objects
    /// in and `kubectl apply -f -` / `kubectl create -f -` accept.
    public static func kubeList(_ items: [Value]) -> Value {
        ["apiVersion": "v1", "kind": "List", "metadata": [:], "items": .array(items)]
    }
}
