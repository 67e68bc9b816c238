package dev.asyncdiff.backend.tensorrt;

import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.onnx.graph.OnnxModel;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import dev.asyncdiff.onnx.graph.split.SplitManifest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The optimization profile of a model file: from the split manifest beside it when it is a split
 * component (true shapes, which axes follow the batch and the image), else from the shapes the file
 * declares, where only the batch may be dynamic.
 */
final class ComponentProfiles {
    private ComponentProfiles() {
    }

    /**
     * The profile of {@code modelFile} for {@code request}.
     *
     * @throws IllegalArgumentException naming the input and axis when a whole model leaves a non-batch axis
     *                                  dynamic, or the manifest does not list the file
     */
    static OptimizationProfile of(Path modelFile, ProfileRequest request) {
        Path manifestFile = modelFile.resolveSibling(SplitManifest.FILE_NAME);
        if (Files.isRegularFile(manifestFile)) {
            SplitManifest manifest = read(manifestFile);
            String name = modelFile.getFileName().toString();
            for (SplitManifest.Component component : manifest.components()) {
                if (component.file().equals(name)) {
                    return OptimizationProfile.of(component.inputs(), manifest.latentHeight(), manifest.latentWidth(),
                            request);
                }
            }
            throw new IllegalArgumentException(manifestFile + " lists no component " + name
                    + "; re-split the model or remove the stray file");
        }
        return declared(modelFile, request);
    }

    private static OptimizationProfile declared(Path modelFile, ProfileRequest request) {
        OnnxModel model = OnnxModel.load(modelFile);
        java.util.Set<String> initializers = new java.util.HashSet<>();
        model.graph().getInitializerList().forEach(t -> initializers.add(t.getName()));
        List<SplitManifest.Tensor> inputs = new ArrayList<>();
        for (ValueInfoProto input : model.graph().getInputList()) {
            if (initializers.contains(input.getName())) {
                continue;
            }
            List<TensorShapeProto.Dimension> dims = input.getType().getTensorType().getShape().getDimList();
            long[] shape = new long[dims.size()];
            List<Integer> dynamic = new ArrayList<>();
            for (int axis = 0; axis < shape.length; axis++) {
                TensorShapeProto.Dimension dim = dims.get(axis);
                if (dim.hasDimValue() && dim.getDimValue() > 0) {
                    shape[axis] = dim.getDimValue();
                } else if (axis == 0) {
                    shape[axis] = 1;
                    dynamic.add(0);
                } else {
                    throw new IllegalArgumentException("input '" + input.getName() + "' of " + modelFile + " has a "
                            + "dynamic axis " + axis + " ('" + dim.getDimParam() + "'): the tensorrt backend builds "
                            + "engines for split components, whose manifest.json gives every shape; split the model "
                            + "(asyncdiff split) or export it with static shapes");
                }
            }
            String dtype = OnnxTypes.fromOnnx(input.getType().getTensorType().getElemType()).name().toLowerCase(
                    java.util.Locale.ROOT);
            inputs.add(new SplitManifest.Tensor(input.getName(), dtype, shape,
                    dynamic.stream().mapToInt(Integer::intValue).toArray(), 0, null, null, null));
        }
        return OptimizationProfile.of(inputs, 1, 1, new ProfileRequest(0, 0, 0, request.optBatch(), request.maxBatch()));
    }

    private static SplitManifest read(Path manifestFile) {
        try {
            return new ObjectMapper().readValue(manifestFile.toFile(), SplitManifest.class);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the split manifest " + manifestFile + ": " + e.getMessage(), e);
        }
    }
}
