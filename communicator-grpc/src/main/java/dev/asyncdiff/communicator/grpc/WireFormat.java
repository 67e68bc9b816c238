package dev.asyncdiff.communicator.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorAllocator;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.communicator.grpc.proto.Delivery;
import dev.asyncdiff.communicator.grpc.proto.Feed;
import dev.asyncdiff.communicator.grpc.proto.Gather;
import dev.asyncdiff.communicator.grpc.proto.Run;
import dev.asyncdiff.communicator.grpc.proto.Spec;
import dev.asyncdiff.communicator.grpc.proto.TaskReply;
import dev.asyncdiff.communicator.grpc.proto.TensorMessage;
import dev.asyncdiff.spi.RankTask;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Tensors, tasks and specs to and from their messages. Tensors travel as raw little-endian bytes. */
final class WireFormat {
    private WireFormat() {
    }

    /**
     * The message of {@code tensor}. For a tensor in host memory the message wraps its bytes without a copy:
     * send it before the tensor changes (gRPC serializes a message in {@code onNext}).
     */
    static TensorMessage tensor(long generation, int from, String tag, Tensor tensor) {
        Tensor host = tensor.isHostResident() ? tensor : tensor.toHost();
        try {
            ByteBuffer bytes = host.buffer();
            TensorMessage.Builder message = TensorMessage.newBuilder().setGeneration(generation).setFrom(from)
                    .setTag(tag).setDtype(host.dtype().name()).setData(host == tensor
                            ? UnsafeByteOperations.unsafeWrap(bytes) : ByteString.copyFrom(bytes));
            for (long dim : host.shape()) {
                message.addShape(dim);
            }
            return message.build();
        } finally {
            if (host != tensor) {
                host.close();
            }
        }
    }

    /**
     * The header of {@code tensor}, whose bytes go over the world's device link: everything but the elements.
     */
    static TensorMessage linkHeader(long generation, int from, String tag, Tensor tensor) {
        TensorMessage.Builder message = TensorMessage.newBuilder().setGeneration(generation).setFrom(from).setTag(tag)
                .setDtype(tensor.dtype().name()).setDeviceLink(true);
        for (long dim : tensor.shape()) {
            message.addShape(dim);
        }
        return message.build();
    }

    /**
     * A tensor received: who sent it, in which generation, under which tag; for a header whose bytes follow on
     * the device link, no tensor but its dtype and shape.
     */
    record Received(long generation, int from, String tag, Tensor tensor, DType dtype, long[] shape) {
        boolean onDeviceLink() {
            return tensor == null;
        }
    }

    private static final int CHUNK = 64 << 10;
    private static final ThreadLocal<byte[]> CHUNKS = ThreadLocal.withInitial(() -> new byte[CHUNK]);

    /**
     * Reads a serialized {@link TensorMessage} from {@code in}, its elements straight into a tensor from
     * {@code memory} (no intermediate array the size of the tensor). Relies on protobuf's canonical field order
     * (by number: the data last), which every protobuf serializer writes.
     *
     * @throws IllegalArgumentException naming the sender and tag when the dtype is unknown or the bytes do
     *                                  not match the shape
     */
    static Received read(InputStream in, TensorAllocator memory) throws IOException {
        long generation = 0;
        int from = 0;
        String tag = "";
        String dtypeName = "";
        List<Long> shape = new ArrayList<>();
        while (true) {
            long key = varint(in, true);
            if (key < 0) {
                throw new IllegalArgumentException("a tensor message from rank " + from + " under '" + tag
                        + "' ends without its data");
            }
            int field = (int) (key >>> 3);
            int wire = (int) (key & 7);
            switch (field) {
                case 1 -> generation = varint(in, false);
                case 2 -> from = (int) varint(in, false);
                case 3 -> tag = string(in);
                case 4 -> dtypeName = string(in);
                case 5 -> {
                    if (wire == 2) {
                        long end = varint(in, false);
                        CountingInput packed = new CountingInput(in, end);
                        while (packed.left() > 0) {
                            shape.add(varint(packed, false));
                        }
                    } else {
                        shape.add(varint(in, false));
                    }
                }
                case 6 -> {
                    long length = varint(in, false);
                    Header header = header(from, tag, dtypeName, shape, length);
                    Tensor tensor = memory.allocate(header.dtype(), header.shape());
                    try {
                        fill(in, tensor.buffer(), length);
                    } catch (IOException | RuntimeException e) {
                        tensor.close();
                        throw e;
                    }
                    return new Received(generation, from, tag, tensor, header.dtype(), header.shape());
                }
                case 7 -> {
                    varint(in, false);
                    Header header = header(from, tag, dtypeName, shape, -1);
                    return new Received(generation, from, tag, null, header.dtype(), header.shape());
                }
                default -> throw new IllegalArgumentException("unknown field " + field + " in a tensor message");
            }
        }
    }

    private record Header(DType dtype, long[] shape) {
    }

    /** The dtype and shape of a message, checked against its {@code length} in bytes (-1: none to check). */
    private static Header header(int from, String tag, String dtypeName, List<Long> dims, long length) {
        String what = "rank " + from + " sent '" + tag + "'";
        DType dtype;
        try {
            dtype = DType.valueOf(dtypeName);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " with unknown dtype '" + dtypeName + "'; expected one of "
                    + Arrays.toString(DType.values()));
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long elements = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(what + " with shape " + Arrays.toString(shape)
                        + "; dimensions must be >= 0");
            }
            elements = Math.multiplyExact(elements, dim);
        }
        long expected = elements * dtype.byteSize();
        if (length >= 0 && length != expected) {
            throw new IllegalArgumentException(what + " as " + dtype + " " + Arrays.toString(shape) + " with "
                    + length + " bytes; that shape and dtype take " + expected);
        }
        return new Header(dtype, shape);
    }

    private static void fill(InputStream in, ByteBuffer target, long length) throws IOException {
        byte[] chunk = CHUNKS.get();
        long left = length;
        while (left > 0) {
            int n = in.read(chunk, 0, (int) Math.min(chunk.length, left));
            if (n < 0) {
                throw new IOException("a tensor message ended " + left + " bytes early");
            }
            target.put(chunk, 0, n);
            left -= n;
        }
    }

    /** A varint; -1 at the end of the stream when {@code endAllowed}. */
    private static long varint(InputStream in, boolean endAllowed) throws IOException {
        long value = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            int b = in.read();
            if (b < 0) {
                if (endAllowed && shift == 0) {
                    return -1;
                }
                throw new IOException("a tensor message ends inside a number");
            }
            value |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return value;
            }
        }
        throw new IOException("a malformed number in a tensor message");
    }

    private static String string(InputStream in) throws IOException {
        int length = (int) varint(in, false);
        byte[] bytes = in.readNBytes(length);
        if (bytes.length != length) {
            throw new IOException("a tensor message ends inside a string");
        }
        return new String(bytes, StandardCharsets.UTF_8);
    }

    /** The next {@code limit} bytes of a stream. */
    private static final class CountingInput extends InputStream {
        private final InputStream in;
        private long left;

        CountingInput(InputStream in, long limit) {
            this.in = in;
            this.left = limit;
        }

        long left() {
            return left;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            left--;
            return in.read();
        }
    }

    static Run run(RankTask.Run run) {
        Run.Builder message = Run.newBuilder().setComponent(run.component()).setStep(run.step())
                .setTimestep(run.timestep());
        for (RankTask.Feed feed : run.feeds()) {
            Feed.Builder f = Feed.newBuilder().setName(feed.name()).setSourceValue(feed.source().ordinal())
                    .setFrom(feed.from());
            if (feed.tag() != null) {
                f.setTag(feed.tag());
            }
            message.addFeeds(f);
        }
        for (RankTask.Delivery delivery : run.deliveries()) {
            message.addDeliveries(Delivery.newBuilder().setName(delivery.name()).setTo(delivery.to())
                    .setTag(delivery.tag()));
        }
        return message.build();
    }

    static RankTask.Run run(Run message) {
        List<RankTask.Feed> feeds = message.getFeedsList().stream().map(f -> new RankTask.Feed(f.getName(),
                RankTask.Source.values()[f.getSourceValue()], f.getFrom(), f.getTag().isEmpty() ? null : f.getTag()))
                .toList();
        List<RankTask.Delivery> deliveries = message.getDeliveriesList().stream()
                .map(d -> new RankTask.Delivery(d.getName(), d.getTo(), d.getTag())).toList();
        return new RankTask.Run(message.getComponent(), message.getStep(), message.getTimestep(), feeds, deliveries);
    }

    static Gather gather(RankTask.Gather gather) {
        return Gather.newBuilder().addAllGroup(gather.group()).setTag(gather.tag()).setHeld(gather.held()).build();
    }

    static RankTask.Gather gather(Gather message) {
        return new RankTask.Gather(message.getGroupList(), message.getTag(), message.getHeld());
    }

    static TaskReply.Builder done(RankTask.Done done) {
        TaskReply.Builder reply = TaskReply.newBuilder();
        done.inputs().forEach(spec -> reply.addInputs(spec(spec)));
        done.outputs().forEach(spec -> reply.addOutputs(spec(spec)));
        return reply;
    }

    static RankTask.Done done(TaskReply reply) {
        return new RankTask.Done(reply.getInputsList().stream().map(WireFormat::spec).toList(),
                reply.getOutputsList().stream().map(WireFormat::spec).toList());
    }

    private static Spec spec(TensorSpec spec) {
        Spec.Builder message = Spec.newBuilder().setName(spec.name()).setDtype(spec.dtype().name());
        for (long dim : spec.shape()) {
            message.addShape(dim);
        }
        return message.build();
    }

    private static TensorSpec spec(Spec message) {
        return new TensorSpec(message.getName(), DType.valueOf(message.getDtype()),
                message.getShapeList().stream().mapToLong(Long::longValue).toArray());
    }
}
