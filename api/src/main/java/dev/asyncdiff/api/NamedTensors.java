package dev.asyncdiff.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * An ordered set of named tensors, such as a session's outputs. It owns the tensors it holds:
 * {@link #close()} closes each of them, unless one was taken out with {@link #take(String)}.
 * Not thread-safe.
 */
public final class NamedTensors implements AutoCloseable {
    private final Map<String, Tensor> tensors = new LinkedHashMap<>();

    /** An empty set. */
    public NamedTensors() {
    }

    /** A set that takes ownership of {@code tensors}. */
    public NamedTensors(Map<String, Tensor> tensors) {
        tensors.forEach(this::put);
    }

    /**
     * Adds a tensor, taking ownership of it.
     *
     * @throws IllegalArgumentException when the name is already present
     */
    public NamedTensors put(String name, Tensor tensor) {
        if (tensors.containsKey(name)) {
            throw new IllegalArgumentException("duplicate tensor name '" + name + "'");
        }
        tensors.put(name, tensor);
        return this;
    }

    /**
     * The tensor called {@code name}, still owned by this set.
     *
     * @throws IllegalArgumentException naming the tensors present when there is none of that name
     */
    public Tensor get(String name) {
        Tensor tensor = tensors.get(name);
        if (tensor == null) {
            throw new IllegalArgumentException("no tensor named '" + name + "'; have " + tensors.keySet());
        }
        return tensor;
    }

    /** Removes the tensor called {@code name} and hands its ownership to the caller. */
    public Tensor take(String name) {
        Tensor tensor = get(name);
        tensors.remove(name);
        return tensor;
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    /** A read-only view of the tensors, still owned by this set. */
    public Map<String, Tensor> asMap() {
        return Collections.unmodifiableMap(tensors);
    }

    public int size() {
        return tensors.size();
    }

    /** Closes every tensor still held; idempotent. */
    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
        tensors.clear();
    }
}
