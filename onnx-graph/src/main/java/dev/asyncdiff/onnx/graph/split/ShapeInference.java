package dev.asyncdiff.onnx.graph.split;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.OnnxTypes;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Propagates concrete shapes through a graph for given input shapes, folding the small constant
 * computations that exports use to build shapes ({@code Shape → Gather → Concat → Reshape}).
 * Operators it does not know leave their outputs unknown; the cost model then counts them as free.
 */
final class ShapeInference {
    private static final Logger LOG = LoggerFactory.getLogger(ShapeInference.class);
    private static final int MAX_FOLDED_ELEMENTS = 64;
    private static final Set<String> SAME_SHAPE = Set.of("Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Exp",
            "Log", "Neg", "Abs", "Reciprocal", "Identity", "Softmax", "LogSoftmax", "Gelu", "Dropout", "Sin",
            "Cos", "Floor", "Ceil", "Round", "Clip", "LeakyRelu", "HardSigmoid", "Softplus", "Mish",
            "InstanceNormalization", "LayerNormalization", "GroupNormalization", "CumSum", "Trilu",
            "SimplifiedLayerNormalization", "Elu", "Selu", "HardSwish", "PRelu");
    private static final Set<String> BROADCAST = Set.of("Add", "Sub", "Mul", "Div", "Pow", "Max", "Min",
            "Mod", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Where");
    private static final Set<String> BOOLEAN = Set.of("Equal", "Less", "Greater", "LessOrEqual",
            "GreaterOrEqual", "And", "Or", "Not", "IsNaN", "IsInf");

    private final GraphIndex graph;
    private final Map<String, ValueInfo> values = new HashMap<>();
    private final Set<String> unknownOps = new TreeSet<>();

    private ShapeInference(GraphIndex graph) {
        this.graph = graph;
    }

    /** Infers every value of {@code graph} from the given input infos and the initializers. */
    static Map<String, ValueInfo> infer(GraphIndex graph, Map<String, ValueInfo> inputs) {
        ShapeInference inference = new ShapeInference(graph);
        inference.values.putAll(inputs);
        for (TensorProto initializer : graph.initializers().values()) {
            inference.values.put(initializer.getName(), graph.initializerInfo(initializer, MAX_FOLDED_ELEMENTS));
        }
        for (NodeProto node : graph.nodes()) {
            List<ValueInfo> outs;
            try {
                outs = inference.node(node);
            } catch (RuntimeException e) {
                LOG.debug("shape inference gave up on {} ({}): {}", node.getName(), node.getOpType(), e.toString());
                outs = List.of();
            }
            for (int i = 0; i < node.getOutputCount(); i++) {
                ValueInfo info = i < outs.size() ? outs.get(i) : ValueInfo.UNKNOWN;
                inference.values.put(node.getOutput(i), info);
            }
        }
        if (!inference.unknownOps.isEmpty()) {
            LOG.info("no shape rule for operators {}; their cost counts as zero", inference.unknownOps);
        }
        return inference.values;
    }

    private ValueInfo in(NodeProto node, int index) {
        if (index >= node.getInputCount() || node.getInput(index).isEmpty()) {
            return null;
        }
        return values.getOrDefault(node.getInput(index), ValueInfo.UNKNOWN);
    }

    private List<ValueInfo> node(NodeProto node) {
        String op = node.getOpType();
        ValueInfo x = in(node, 0);
        if (op.equals("Constant")) {
            return List.of(constant(node));
        }
        if (SAME_SHAPE.contains(op)) {
            return List.of(new ValueInfo(x.dtype(), x.shape(), null));
        }
        if (op.equals("Cast")) {
            DType to = OnnxTypes.fromOnnx((int) intAttr(node, "to", 1));
            return List.of(new ValueInfo(to, x.shape(), x.values()));
        }
        if (op.equals("Not") || op.equals("IsNaN") || op.equals("IsInf")) {
            return List.of(ValueInfo.of(DType.BOOL, x.shape()));
        }
        if (BROADCAST.contains(op)) {
            return List.of(broadcastOp(node, op));
        }
        return switch (op) {
            case "MatMul" -> List.of(matMul(x, in(node, 1)));
            case "Gemm" -> List.of(gemm(node, x, in(node, 1)));
            case "Conv" -> List.of(conv(node, x, in(node, 1)));
            case "Reshape" -> List.of(reshape(x, in(node, 1)));
            case "Transpose" -> List.of(transpose(node, x));
            case "Concat" -> List.of(concat(node));
            case "Split" -> split(node, x);
            case "Slice" -> List.of(slice(node, x));
            case "Gather" -> List.of(gather(node, x, in(node, 1)));
            case "Unsqueeze" -> List.of(unsqueeze(node, x));
            case "Squeeze" -> List.of(squeeze(node, x));
            case "Shape" -> List.of(shapeOf(node, x));
            case "ConstantOfShape" -> List.of(constantOfShape(node, x));
            case "Expand" -> List.of(new ValueInfo(x.dtype(), broadcast(x.shape(), in(node, 1).longValues()), null));
            case "Range" -> List.of(range(x, in(node, 1), in(node, 2)));
            case "Resize" -> List.of(resize(node, x));
            case "ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd" -> List.of(reduce(node, x));
            case "Pad" -> List.of(pad(x, in(node, 1)));
            case "Flatten" -> List.of(flatten(node, x));
            case "ArgMax", "ArgMin" -> List.of(argReduce(node, x));
            default -> {
                unknownOps.add(op);
                yield List.of();
            }
        };
    }

    private ValueInfo constant(NodeProto node) {
        for (AttributeProto attribute : node.getAttributeList()) {
            switch (attribute.getName()) {
                case "value" -> {
                    return attributeTensor(attribute.getT(), MAX_FOLDED_ELEMENTS);
                }
                case "value_float" -> {
                    return new ValueInfo(DType.FP32, new long[0], new double[] {attribute.getF()});
                }
                case "value_int" -> {
                    return new ValueInfo(DType.INT64, new long[0], new double[] {attribute.getI()});
                }
                case "value_ints" -> {
                    double[] v = attribute.getIntsList().stream().mapToDouble(Long::doubleValue).toArray();
                    return new ValueInfo(DType.INT64, new long[] {v.length}, v);
                }
                case "value_floats" -> {
                    double[] v = attribute.getFloatsList().stream().mapToDouble(Float::doubleValue).toArray();
                    return new ValueInfo(DType.FP32, new long[] {v.length}, v);
                }
                default -> { }
            }
        }
        return ValueInfo.UNKNOWN;
    }

    private ValueInfo broadcastOp(NodeProto node, String op) {
        int first = op.equals("Where") ? 1 : 0;
        long[] shape = new long[0];
        for (int i = 0; i < node.getInputCount(); i++) {
            shape = broadcast(shape, in(node, i).shape());
        }
        DType dtype = BOOLEAN.contains(op) ? DType.BOOL : in(node, first).dtype();
        double[] folded = null;
        long count = product(shape);
        boolean allConstant = true;
        for (int i = 0; i < node.getInputCount(); i++) {
            allConstant &= in(node, i).constant();
        }
        if (allConstant && count <= MAX_FOLDED_ELEMENTS) {
            folded = new double[(int) count];
            for (int k = 0; k < count; k++) {
                double a = element(in(node, 0), shape, k);
                double b = node.getInputCount() > 1 ? element(in(node, 1), shape, k) : 0;
                folded[k] = switch (op) {
                    case "Add" -> a + b;
                    case "Sub" -> a - b;
                    case "Mul" -> a * b;
                    case "Div" -> dtype.isFloatingPoint() ? a / b : (double) ((long) a / (long) b);
                    case "Pow" -> Math.pow(a, b);
                    case "Max" -> Math.max(a, b);
                    case "Min" -> Math.min(a, b);
                    case "Mod" -> a % b;
                    case "Equal" -> a == b ? 1 : 0;
                    case "Less" -> a < b ? 1 : 0;
                    case "Greater" -> a > b ? 1 : 0;
                    case "LessOrEqual" -> a <= b ? 1 : 0;
                    case "GreaterOrEqual" -> a >= b ? 1 : 0;
                    case "And" -> a != 0 && b != 0 ? 1 : 0;
                    case "Or" -> a != 0 || b != 0 ? 1 : 0;
                    case "Where" -> a != 0 ? b : element(in(node, 2), shape, k);
                    default -> throw new IllegalStateException(op);
                };
            }
        }
        return new ValueInfo(dtype, shape, folded);
    }

    /** The element of {@code value} that broadcasts to flat position {@code k} of {@code shape}. */
    private static double element(ValueInfo value, long[] shape, long k) {
        long[] own = value.shape();
        long index = 0;
        long stride = 1;
        long rest = k;
        long[] coords = new long[shape.length];
        for (int axis = shape.length - 1; axis >= 0; axis--) {
            coords[axis] = rest % shape[axis];
            rest /= shape[axis];
        }
        for (int axis = own.length - 1; axis >= 0; axis--) {
            long coord = own[axis] == 1 ? 0 : coords[shape.length - own.length + axis];
            index += coord * stride;
            stride *= own[axis];
        }
        return value.values()[(int) index];
    }

    private static ValueInfo matMul(ValueInfo a, ValueInfo b) {
        long[] sa = a.shape();
        long[] sb = b.shape();
        if (sa.length == 1 || sb.length == 1) {
            throw new IllegalArgumentException("1-D MatMul not folded");
        }
        long[] batch = broadcast(Arrays.copyOf(sa, sa.length - 2), Arrays.copyOf(sb, sb.length - 2));
        long[] out = Arrays.copyOf(batch, batch.length + 2);
        out[batch.length] = sa[sa.length - 2];
        out[batch.length + 1] = sb[sb.length - 1];
        return ValueInfo.of(a.dtype(), out);
    }

    private static ValueInfo gemm(NodeProto node, ValueInfo a, ValueInfo b) {
        long m = intAttr(node, "transA", 0) == 0 ? a.shape()[0] : a.shape()[1];
        long n = intAttr(node, "transB", 0) == 0 ? b.shape()[1] : b.shape()[0];
        return ValueInfo.of(a.dtype(), m, n);
    }

    private static ValueInfo conv(NodeProto node, ValueInfo x, ValueInfo w) {
        long[] xs = x.shape();
        long[] ws = w.shape();
        int spatial = xs.length - 2;
        long[] kernel = intsAttr(node, "kernel_shape", Arrays.copyOfRange(ws, 2, ws.length));
        long[] strides = intsAttr(node, "strides", filled(spatial, 1));
        long[] dilations = intsAttr(node, "dilations", filled(spatial, 1));
        long[] pads = intsAttr(node, "pads", filled(2 * spatial, 0));
        String autoPad = stringAttr(node, "auto_pad", "NOTSET");
        long[] out = new long[xs.length];
        out[0] = xs[0];
        out[1] = ws[0];
        for (int i = 0; i < spatial; i++) {
            long in = xs[i + 2];
            if (autoPad.startsWith("SAME")) {
                out[i + 2] = (in + strides[i] - 1) / strides[i];
            } else {
                long effective = (kernel[i] - 1) * dilations[i] + 1;
                long padded = autoPad.equals("VALID") ? in : in + pads[i] + pads[i + spatial];
                out[i + 2] = (padded - effective) / strides[i] + 1;
            }
        }
        return ValueInfo.of(x.dtype(), out);
    }

    private static ValueInfo reshape(ValueInfo x, ValueInfo target) {
        long[] spec = target.longValues();
        long[] out = new long[spec.length];
        long known = 1;
        int inferred = -1;
        for (int i = 0; i < spec.length; i++) {
            out[i] = spec[i] == 0 ? x.shape()[i] : spec[i];
            if (out[i] == -1) {
                inferred = i;
            } else {
                known *= out[i];
            }
        }
        if (inferred >= 0) {
            out[inferred] = x.elementCount() / known;
        }
        return new ValueInfo(x.dtype(), out, x.values());
    }

    private static ValueInfo transpose(NodeProto node, ValueInfo x) {
        long[] s = x.shape();
        long[] reversed = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            reversed[i] = s.length - 1 - i;
        }
        long[] perm = intsAttr(node, "perm", reversed);
        long[] out = new long[s.length];
        for (int i = 0; i < s.length; i++) {
            out[i] = s[(int) perm[i]];
        }
        return ValueInfo.of(x.dtype(), out);
    }

    private ValueInfo concat(NodeProto node) {
        ValueInfo first = in(node, 0);
        int rank = first.shape().length;
        int axis = normalize(intAttr(node, "axis", 0), rank);
        long[] out = first.shape().clone();
        out[axis] = 0;
        boolean foldable = rank == 1;
        int total = 0;
        for (int i = 0; i < node.getInputCount(); i++) {
            ValueInfo part = in(node, i);
            out[axis] += part.shape()[axis];
            foldable &= part.constant();
            total += foldable ? part.values().length : 0;
        }
        double[] folded = null;
        if (foldable && total <= MAX_FOLDED_ELEMENTS) {
            folded = new double[total];
            int at = 0;
            for (int i = 0; i < node.getInputCount(); i++) {
                double[] part = in(node, i).values();
                System.arraycopy(part, 0, folded, at, part.length);
                at += part.length;
            }
        }
        return new ValueInfo(first.dtype(), out, folded);
    }

    private List<ValueInfo> split(NodeProto node, ValueInfo x) {
        int rank = x.shape().length;
        int axis = normalize(intAttr(node, "axis", 0), rank);
        int parts = node.getOutputCount();
        long[] sizes;
        ValueInfo splitInput = in(node, 1);
        if (splitInput != null) {
            sizes = splitInput.longValues();
        } else {
            sizes = filled(parts, (x.shape()[axis] + parts - 1) / parts);
            sizes[parts - 1] = x.shape()[axis] - sizes[0] * (parts - 1);
        }
        ValueInfo[] outs = new ValueInfo[parts];
        for (int i = 0; i < parts; i++) {
            long[] shape = x.shape().clone();
            shape[axis] = sizes[i];
            outs[i] = ValueInfo.of(x.dtype(), shape);
        }
        return List.of(outs);
    }

    private ValueInfo slice(NodeProto node, ValueInfo x) {
        long[] starts = in(node, 1).longValues();
        long[] ends = in(node, 2).longValues();
        long[] axes = in(node, 3) == null ? null : in(node, 3).longValues();
        long[] steps = in(node, 4) == null ? null : in(node, 4).longValues();
        long[] out = x.shape().clone();
        long[] begin = new long[out.length];
        long[] stepOf = filled(out.length, 1);
        for (int i = 0; i < starts.length; i++) {
            int axis = normalize(axes == null ? i : axes[i], out.length);
            long dim = x.shape()[axis];
            long step = steps == null ? 1 : steps[i];
            long start = clampIndex(starts[i], dim, step);
            long end = clampIndex(ends[i], dim, step);
            out[axis] = step > 0 ? Math.max(0, (end - start + step - 1) / step)
                    : Math.max(0, (start - end - step - 1) / -step);
            begin[axis] = start;
            stepOf[axis] = step;
        }
        double[] folded = null;
        if (x.constant() && out.length == 1) {
            folded = new double[(int) out[0]];
            for (int i = 0; i < folded.length; i++) {
                folded[i] = x.values()[(int) (begin[0] + i * stepOf[0])];
            }
        }
        return new ValueInfo(x.dtype(), out, folded);
    }

    private static long clampIndex(long index, long dim, long step) {
        long value = index < 0 ? index + dim : index;
        return step > 0 ? Math.max(0, Math.min(value, dim)) : Math.max(-1, Math.min(value, dim - 1));
    }

    private static ValueInfo gather(NodeProto node, ValueInfo data, ValueInfo indices) {
        long[] ds = data.shape();
        int axis = normalize(intAttr(node, "axis", 0), ds.length);
        long[] is = indices.shape();
        long[] out = new long[ds.length - 1 + is.length];
        System.arraycopy(ds, 0, out, 0, axis);
        System.arraycopy(is, 0, out, axis, is.length);
        System.arraycopy(ds, axis + 1, out, axis + is.length, ds.length - axis - 1);
        double[] folded = null;
        if (data.constant() && indices.constant() && ds.length == 1) {
            double[] idx = indices.values();
            folded = new double[idx.length];
            for (int i = 0; i < idx.length; i++) {
                long k = (long) idx[i];
                folded[i] = data.values()[(int) (k < 0 ? k + ds[0] : k)];
            }
        }
        return new ValueInfo(data.dtype(), out, folded);
    }

    private ValueInfo unsqueeze(NodeProto node, ValueInfo x) {
        long[] axes = in(node, 1) != null ? in(node, 1).longValues() : intsAttr(node, "axes", new long[0]);
        int rank = x.shape().length + axes.length;
        boolean[] inserted = new boolean[rank];
        for (long axis : axes) {
            inserted[normalize(axis, rank)] = true;
        }
        long[] out = new long[rank];
        int from = 0;
        for (int i = 0; i < rank; i++) {
            out[i] = inserted[i] ? 1 : x.shape()[from++];
        }
        return new ValueInfo(x.dtype(), out, x.values());
    }

    private ValueInfo squeeze(NodeProto node, ValueInfo x) {
        long[] s = x.shape();
        long[] axes = in(node, 1) != null ? in(node, 1).longValues() : intsAttr(node, "axes", null);
        boolean[] removed = new boolean[s.length];
        if (axes == null) {
            for (int i = 0; i < s.length; i++) {
                removed[i] = s[i] == 1;
            }
        } else {
            for (long axis : axes) {
                removed[normalize(axis, s.length)] = true;
            }
        }
        long[] out = new long[s.length];
        int n = 0;
        for (int i = 0; i < s.length; i++) {
            if (!removed[i]) {
                out[n++] = s[i];
            }
        }
        return new ValueInfo(x.dtype(), Arrays.copyOf(out, n), x.values());
    }

    private static ValueInfo shapeOf(NodeProto node, ValueInfo x) {
        long[] s = x.shape();
        int start = normalizeClamped(intAttr(node, "start", 0), s.length);
        int end = normalizeClamped(intAttr(node, "end", s.length), s.length);
        double[] dims = new double[Math.max(0, end - start)];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = s[start + i];
        }
        return new ValueInfo(DType.INT64, new long[] {dims.length}, dims);
    }

    private ValueInfo attributeTensor(TensorProto tensor, int maxFold) {
        return GraphIndex.tensorInfo(tensor, graph.model().tensorData(tensor), maxFold);
    }

    private ValueInfo constantOfShape(NodeProto node, ValueInfo shape) {
        long[] out = shape.longValues();
        DType dtype = DType.FP32;
        double fill = 0;
        for (AttributeProto attribute : node.getAttributeList()) {
            if (attribute.getName().equals("value")) {
                ValueInfo value = attributeTensor(attribute.getT(), 1);
                dtype = value.dtype();
                fill = value.constant() ? value.values()[0] : 0;
            }
        }
        long count = product(out);
        double[] folded = null;
        if (count <= MAX_FOLDED_ELEMENTS) {
            folded = new double[(int) count];
            Arrays.fill(folded, fill);
        }
        return new ValueInfo(dtype, out, folded);
    }

    private static ValueInfo range(ValueInfo start, ValueInfo limit, ValueInfo delta) {
        double s = start.values()[0];
        double l = limit.values()[0];
        double d = delta.values()[0];
        long count = Math.max(0, (long) Math.ceil((l - s) / d));
        double[] folded = null;
        if (count <= MAX_FOLDED_ELEMENTS) {
            folded = new double[(int) count];
            for (int i = 0; i < count; i++) {
                folded[i] = s + i * d;
            }
        }
        return new ValueInfo(start.dtype(), new long[] {count}, folded);
    }

    private ValueInfo resize(NodeProto node, ValueInfo x) {
        ValueInfo sizes = in(node, 3);
        if (sizes != null && sizes.constant() && sizes.values().length > 0) {
            return ValueInfo.of(x.dtype(), sizes.longValues());
        }
        double[] scales = in(node, 2).values();
        long[] out = new long[x.shape().length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (long) Math.floor(x.shape()[i] * scales[i]);
        }
        return ValueInfo.of(x.dtype(), out);
    }

    private ValueInfo reduce(NodeProto node, ValueInfo x) {
        long[] s = x.shape();
        long[] axes = in(node, 1) != null ? in(node, 1).longValues() : intsAttr(node, "axes", null);
        boolean keep = intAttr(node, "keepdims", 1) == 1;
        boolean[] reduced = new boolean[s.length];
        if (axes == null || axes.length == 0) {
            Arrays.fill(reduced, true);
        } else {
            for (long axis : axes) {
                reduced[normalize(axis, s.length)] = true;
            }
        }
        long[] out = new long[s.length];
        int n = 0;
        for (int i = 0; i < s.length; i++) {
            if (!reduced[i]) {
                out[n++] = s[i];
            } else if (keep) {
                out[n++] = 1;
            }
        }
        return ValueInfo.of(x.dtype(), Arrays.copyOf(out, n));
    }

    private static ValueInfo pad(ValueInfo x, ValueInfo pads) {
        long[] p = pads.longValues();
        long[] out = x.shape().clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += p[i] + p[i + out.length];
        }
        return ValueInfo.of(x.dtype(), out);
    }

    private static ValueInfo flatten(NodeProto node, ValueInfo x) {
        int axis = normalizeClamped(intAttr(node, "axis", 1), x.shape().length);
        long outer = product(Arrays.copyOf(x.shape(), axis));
        return ValueInfo.of(x.dtype(), outer, x.elementCount() / Math.max(outer, 1));
    }

    private static ValueInfo argReduce(NodeProto node, ValueInfo x) {
        long[] s = x.shape();
        int axis = normalize(intAttr(node, "axis", 0), s.length);
        boolean keep = intAttr(node, "keepdims", 1) == 1;
        long[] out = keep ? s.clone() : new long[s.length - 1];
        if (keep) {
            out[axis] = 1;
        } else {
            for (int i = 0, n = 0; i < s.length; i++) {
                if (i != axis) {
                    out[n++] = s[i];
                }
            }
        }
        return ValueInfo.of(DType.INT64, out);
    }

    /** Numpy broadcasting of two shapes. */
    static long[] broadcast(long[] a, long[] b) {
        int rank = Math.max(a.length, b.length);
        long[] out = new long[rank];
        for (int i = 0; i < rank; i++) {
            long da = i < rank - a.length ? 1 : a[i - (rank - a.length)];
            long db = i < rank - b.length ? 1 : b[i - (rank - b.length)];
            if (da != db && da != 1 && db != 1) {
                throw new IllegalArgumentException("shapes " + Arrays.toString(a) + " and " + Arrays.toString(b)
                        + " do not broadcast");
            }
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    static long product(long[] shape) {
        long count = 1;
        for (long dim : shape) {
            count *= dim;
        }
        return count;
    }

    private static long[] filled(int length, long value) {
        long[] out = new long[length];
        Arrays.fill(out, value);
        return out;
    }

    private static int normalize(long axis, int rank) {
        return (int) (axis < 0 ? axis + rank : axis);
    }

    private static int normalizeClamped(long axis, int rank) {
        return (int) Math.max(0, Math.min(rank, axis < 0 ? axis + rank : axis));
    }

    static long intAttr(NodeProto node, String name, long fallback) {
        for (AttributeProto attribute : node.getAttributeList()) {
            if (attribute.getName().equals(name)) {
                return attribute.getI();
            }
        }
        return fallback;
    }

    static long[] intsAttr(NodeProto node, String name, long[] fallback) {
        for (AttributeProto attribute : node.getAttributeList()) {
            if (attribute.getName().equals(name)) {
                return attribute.getIntsList().stream().mapToLong(Long::longValue).toArray();
            }
        }
        return fallback;
    }

    private static String stringAttr(NodeProto node, String name, String fallback) {
        for (AttributeProto attribute : node.getAttributeList()) {
            if (attribute.getName().equals(name)) {
                return attribute.getS().toStringUtf8();
            }
        }
        return fallback;
    }
}
