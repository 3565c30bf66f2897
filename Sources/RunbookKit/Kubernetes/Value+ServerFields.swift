extension Value {
    /// This Kubernetes object without the fields the server owns (`status`, `uid`,
    /// `resourceVersion`, `managedFields`…): what can be created or PUT again.
    public var withoutServerFields: Value {
        var o = self
        o["status"] = nil
        if var m = o["metadata"] {
            for k in ["uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                      "deletionTimestamp", "deletionGracePeriodSeconds"] { m[k] = nil }
            o["metadata"] = m
        }
        return o
    }
}
