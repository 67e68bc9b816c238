package dev.asyncdiff.onnx.graph.split;

import ai.onnx.proto.OnnxMl.NodeProto;
import java.util.Map;
import java.util.Set;

/**
 * Estimates the cost of a node from inferred shapes: floating-point operations for convolutions
 * and matrix products (two per multiply-add), a few per element for normalisations and softmax,
 * one per output element for other arithmetic, plus {@value #COST_PER_BYTE} per byte the node
 * reads or writes, so that memory-bound layers are not free. Shape bookkeeping costs nothing.
 */
final class CostModel {
    /** Cost units charged per byte moved; roughly the flop-per-byte balance of a CPU or a GPU running fp16. */
    static final double COST_PER_BYTE = 8.0;
    private static final Set<String> NO_FLOPS = Set.of("Shape", "Gather", "Unsqueeze", "Squeeze", "Concat",
            "Reshape", "Constant", "ConstantOfShape", "Cast", "Identity", "Range", "Slice", "Flatten", "Transpose",
            "Expand", "Split", "Pad", "Resize");
    /** Operators that only relabel their input's memory. */
    private static final Set<String> VIEWS = Set.of("Shape", "Unsqueeze", "Squeeze", "Reshape", "Identity",
            "Flatten", "Constant");
    private static final Set<String> PER_ELEMENT_5 = Set.of("Softmax", "LogSoftmax", "InstanceNormalization",
            "LayerNormalization", "GroupNormalization", "Erf", "Gelu", "Tanh", "Sigmoid", "Exp");

    private CostModel() {
    }

    /** The floating-point operations of {@code node}; 0 when its shapes are unknown. */
    static double flops(NodeProto node, Map<String, ValueInfo> infos) {
        ValueInfo out = node.getOutputCount() == 0 ? ValueInfo.UNKNOWN
                : infos.getOrDefault(node.getOutput(0), ValueInfo.UNKNOWN);
        if (!out.known() || NO_FLOPS.contains(node.getOpType())) {
            return 0;
        }
        double elements = out.elementCount();
        switch (node.getOpType()) {
            case "Conv" -> {
                ValueInfo weight = infos.getOrDefault(node.getInput(1), ValueInfo.UNKNOWN);
                if (!weight.known()) {
                    return 0;
                }
                long[] w = weight.shape();
                double perOutput = 1;
                for (int i = 1; i < w.length; i++) {
                    perOutput *= w[i];
                }
                return 2 * elements * perOutput;
            }
            case "MatMul" -> {
                ValueInfo a = infos.getOrDefault(node.getInput(0), ValueInfo.UNKNOWN);
                return a.known() ? 2 * elements * a.shape()[a.shape().length - 1] : 0;
            }
            case "Gemm" -> {
                ValueInfo a = infos.getOrDefault(node.getInput(0), ValueInfo.UNKNOWN);
                long k = ShapeInference.intAttr(node, "transA", 0) == 0 ? a.shape()[1] : a.shape()[0];
                return a.known() ? 2 * elements * k : 0;
            }
            default -> {
                return PER_ELEMENT_5.contains(node.getOpType()) ? 5 * elements : elements;
            }
        }
    }

    /** The bytes {@code node} reads from non-constant inputs and writes. */
    static double bytes(NodeProto node, Map<String, ValueInfo> infos) {
        if (VIEWS.contains(node.getOpType())) {
            return 0;
        }
        double total = 0;
        for (String input : node.getInputList()) {
            ValueInfo info = infos.getOrDefault(input, ValueInfo.UNKNOWN);
            if (!info.constant()) {
                total += info.byteCount();
            }
        }
        for (String output : node.getOutputList()) {
            total += infos.getOrDefault(output, ValueInfo.UNKNOWN).byteCount();
        }
        return total;
    }

    /** The combined cost of {@code node}. */
    static double cost(NodeProto node, Map<String, ValueInfo> infos) {
        return flops(node, infos) + COST_PER_BYTE * bytes(node, infos);
    }
}
