package dev.asyncdiff.onnx.graph.split;

import dev.asyncdiff.api.ComponentFile;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A split on disk: the folder holding the component files and {@code manifest.json}.
 *
 * @param directory the folder
 * @param manifest  its manifest
 * @param reused    whether it came from the cache (or a pre-split folder) rather than being cut now
 */
public record SplitResult(Path directory, SplitManifest manifest, boolean reused) {
    /** The manifest file. */
    public Path manifestFile() {
        return directory.resolve(SplitManifest.FILE_NAME);
    }

    /** The components as the API describes them. */
    public List<ComponentFile> componentFiles() {
        return manifest.components().stream().map(c -> new ComponentFile(c.index(), directory.resolve(c.file()),
                specs(c.inputs()), specs(c.outputs()), shapeOnly(c.inputs()))).toList();
    }

    private static Set<String> shapeOnly(List<SplitManifest.Tensor> inputs) {
        return inputs.stream().filter(t -> Boolean.TRUE.equals(t.shapeOnly())).map(SplitManifest.Tensor::name)
                .collect(Collectors.toSet());
    }

    private static List<TensorSpec> specs(List<SplitManifest.Tensor> tensors) {
        return tensors.stream().map(t -> new TensorSpec(t.name(), DType.parse(t.dtype()), t.specShape())).toList();
    }
}
