package dev.asyncdiff.communicator.grpc;

import com.google.protobuf.ByteString;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.api.TensorSpec;
import dev.asyncdiff.communicator.grpc.proto.Delivery;
import dev.asyncdiff.communicator.grpc.proto.Feed;
import dev.asyncdiff.communicator.grpc.proto.Gather;
import dev.asyncdiff.communicator.grpc.proto.Run;
import dev.asyncdiff.communicator.grpc.proto.Spec;
import dev.asyncdiff.communicator.grpc.proto.TaskReply;
import dev.asyncdiff.communicator.grpc.proto.TensorMessage;
import dev.asyncdiff.spi.RankTask;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/** Tensors, tasks and specs to and from their messages. Tensors travel as raw little-endian bytes. */
final class WireFormat {
    private WireFormat() {
    }

    static TensorMessage tensor(long generation, int from, String tag, Tensor tensor) {
        Tensor host = tensor.isHostResident() ? tensor : tensor.toHost();
        try {
            ByteBuffer bytes = host.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
            bytes.rewind();
            TensorMessage.Builder message = TensorMessage.newBuilder().setGeneration(generation).setFrom(from)
                    .setTag(tag).setDtype(host.dtype().name()).setData(ByteString.copyFrom(bytes));
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
     * The tensor a message carries, in host memory.
     *
     * @throws IllegalArgumentException naming the sender and tag when the dtype is unknown or the bytes do
     *                                  not match the shape
     */
    static Tensor tensor(TensorMessage message) {
        String what = "rank " + message.getFrom() + " sent '" + message.getTag() + "'";
        DType dtype;
        try {
            dtype = DType.valueOf(message.getDtype());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " with unknown dtype '" + message.getDtype() + "'; expected one of "
                    + Arrays.toString(DType.values()));
        }
        long[] shape = message.getShapeList().stream().mapToLong(Long::longValue).toArray();
        long elements = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(what + " with shape " + Arrays.toString(shape)
                        + "; dimensions must be >= 0");
            }
            elements = Math.multiplyExact(elements, dim);
        }
        long expected = elements * dtype.byteSize();
        if (message.getData().size() != expected) {
            throw new IllegalArgumentException(what + " as " + dtype + " " + Arrays.toString(shape) + " with "
                    + message.getData().size() + " bytes; that shape and dtype take " + expected);
        }
        ByteBuffer data = ByteBuffer.allocateDirect((int) expected).order(ByteOrder.LITTLE_ENDIAN);
        message.getData().copyTo(data);
        data.flip();
        return Tensor.wrap(dtype, data, Device.CPU, shape);
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
