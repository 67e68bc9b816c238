package dev.asyncdiff.communicator.nccl;

import static org.bytedeco.cuda.global.cudart.cudaStreamCreate;
import static org.bytedeco.cuda.global.cudart.cudaStreamDestroy;
import static org.bytedeco.cuda.global.cudart.cudaStreamSynchronize;
import static org.bytedeco.cuda.global.nccl.NCCL_UNIQUE_ID_BYTES;
import static org.bytedeco.cuda.global.nccl.ncclCommAbort;
import static org.bytedeco.cuda.global.nccl.ncclCommInitRank;
import static org.bytedeco.cuda.global.nccl.ncclGetErrorString;
import static org.bytedeco.cuda.global.nccl.ncclGetUniqueId;
import static org.bytedeco.cuda.global.nccl.ncclGroupEnd;
import static org.bytedeco.cuda.global.nccl.ncclGroupStart;
import static org.bytedeco.cuda.global.nccl.ncclRecv;
import static org.bytedeco.cuda.global.nccl.ncclSend;
import static org.bytedeco.cuda.global.nccl.ncclUint8;

import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.backend.tensorrt.Cuda;
import dev.asyncdiff.backend.tensorrt.CudaBuffer;
import dev.asyncdiff.communicator.grpc.DeviceLink;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.cuda.cudart.CUstream_st;
import org.bytedeco.cuda.nccl.ncclComm;
import org.bytedeco.cuda.nccl.ncclUniqueId;
import org.bytedeco.javacpp.BytePointer;

/**
 * One rank's end of an NCCL communicator over every rank of a grpc world: the bytes of tensors in CUDA memory
 * ({@link CudaBuffer}, as the tensorrt backend leaves its outputs) go with {@code ncclSend}/{@code ncclRecv}
 * GPU to GPU (NVLink, PCIe or the network, as NCCL finds). NCCL pairs a send with the receive posted in the same
 * order between the same two ranks, which the grpc headers' order guarantees. Sends and receives have a CUDA stream
 * per peer each, so that two ranks sending to each other at once do not wait on each other; NCCL calls are
 * issued one at a time (an NCCL communicator is not thread-safe), and every pair connects when the link opens, so
 * that no later call blocks waiting for its peer's connection. Thread-safe.
 */
final class NcclLink implements DeviceLink {
    private static final int SUCCESS = 0;

    private final int rank;
    private final Device device;
    private final ncclComm comm;
    private final Map<Integer, CUstream_st> sendStreams = new HashMap<>();
    private final Map<Integer, CUstream_st> receiveStreams = new HashMap<>();
    /** Held while an NCCL call is issued, never while waiting for one to complete. */
    private final Object issuing = new Object();
    private boolean closed;

    private NcclLink(int rank, Device device, ncclComm comm) {
        this.rank = rank;
        this.device = device;
        this.comm = comm;
    }

    /** A new NCCL unique id, as bytes for the rendezvous. */
    static byte[] newId() {
        ncclUniqueId id = new ncclUniqueId();
        check(ncclGetUniqueId(id), "ncclGetUniqueId");
        byte[] bytes = new byte[NCCL_UNIQUE_ID_BYTES];
        new BytePointer(id).capacity(bytes.length).get(bytes);
        return bytes;
    }

    /** Rank {@code rank}'s end of the NCCL communicator {@code id} of {@code devices.size()} ranks. */
    static NcclLink open(int rank, List<Device> devices, byte[] id) {
        for (int r = 0; r < devices.size(); r++) {
            if (!devices.get(r).kind().equals(Device.CUDA_KIND)) {
                throw new IllegalArgumentException("the nccl communicator connects GPUs, but rank " + r + " is on "
                        + devices.get(r) + "; use --communicator grpc for ranks on CPUs");
            }
        }
        if (id.length != NCCL_UNIQUE_ID_BYTES) {
            throw new IllegalArgumentException("an NCCL unique id has " + NCCL_UNIQUE_ID_BYTES + " bytes, rank 0 sent "
                    + id.length);
        }
        Device device = devices.get(rank);
        Cuda.use(device);
        ncclUniqueId unique = new ncclUniqueId();
        new BytePointer(unique).capacity(id.length).put(id);
        ncclComm comm = new ncclComm();
        check(ncclCommInitRank(comm, devices.size(), unique, rank), "ncclCommInitRank(" + devices.size()
                + " ranks, rank " + rank + " on " + device + ")");
        NcclLink link = new NcclLink(rank, device, comm);
        try {
            link.connect(devices.size());
            return link;
        } catch (RuntimeException e) {
            link.close();
            throw e;
        }
    }

    /** Exchanges a byte with every other rank in one NCCL group, which connects every pair. */
    private void connect(int ranks) {
        CUstream_st stream = stream(sendStreams, rank); // the key of this rank itself: nothing else is sent there
        try (CudaBuffer out = CudaBuffer.allocate(device, 1); CudaBuffer in = CudaBuffer.allocate(device, ranks)) {
            check(ncclGroupStart(), "ncclGroupStart");
            for (int peer = 0; peer < ranks; peer++) {
                if (peer != rank) {
                    check(ncclSend(out.address(0), 1, ncclUint8, peer, comm, stream), "ncclSend to rank " + peer);
                    check(ncclRecv(in.address(peer), 1, ncclUint8, peer, comm, stream), "ncclRecv from rank " + peer);
                }
            }
            check(ncclGroupEnd(), "ncclGroupEnd connecting rank " + rank + " to every other rank");
            Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize after connecting the ranks");
        }
    }

    @Override
    public boolean carries(Tensor tensor, Device to) {
        return !tensor.isHostResident() && tensor.storage() instanceof CudaBuffer && to.kind().equals(Device.CUDA_KIND);
    }

    @Override
    public void send(int to, Tensor tensor) {
        CudaBuffer memory = (CudaBuffer) tensor.storage();
        long bytes = tensor.byteCount();
        CUstream_st stream = stream(sendStreams, to);
        synchronized (issuing) {
            Cuda.use(device);
            check(ncclSend(memory.address(tensor.byteOffset()), bytes, ncclUint8, to, comm, stream),
                    "ncclSend(" + bytes + " bytes from rank " + rank + " to rank " + to + ")");
        }
        Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize after ncclSend to rank " + to);
    }

    @Override
    public Tensor receive(int from, DType dtype, long[] shape) {
        long elements = 1;
        for (long dim : shape) {
            elements = Math.multiplyExact(elements, dim);
        }
        long bytes = elements * dtype.byteSize();
        CUstream_st stream = stream(receiveStreams, from);
        Cuda.use(device);
        CudaBuffer memory = CudaBuffer.allocate(device, bytes);
        try {
            synchronized (issuing) {
                Cuda.use(device);
                check(ncclRecv(memory.address(0), bytes, ncclUint8, from, comm, stream),
                        "ncclRecv(" + bytes + " bytes from rank " + from + " on rank " + rank + ")");
            }
            Cuda.check(cudaStreamSynchronize(stream), "cudaStreamSynchronize after ncclRecv from rank " + from);
            return Tensor.of(dtype, memory, shape);
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
    }

    /** The stream of one direction of the traffic with {@code peer}, created on first use. */
    private synchronized CUstream_st stream(Map<Integer, CUstream_st> streams, int peer) {
        if (closed) {
            throw new IllegalStateException("the nccl link of rank " + rank + " is closed");
        }
        return streams.computeIfAbsent(peer, p -> {
            Cuda.use(device);
            CUstream_st stream = new CUstream_st();
            Cuda.check(cudaStreamCreate(stream), "cudaStreamCreate for rank " + p);
            return stream;
        });
    }

    /** Aborts what is in flight (a waiting send or receive then fails) and frees the communicator and streams. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        Cuda.use(device);
        ncclCommAbort(comm);
        sendStreams.values().forEach(stream -> cudaStreamDestroy(stream));
        receiveStreams.values().forEach(stream -> cudaStreamDestroy(stream));
        sendStreams.clear();
        receiveStreams.clear();
    }

    private static void check(int result, String call) {
        if (result != SUCCESS) {
            throw new AsyncDiffException(call + " failed: NCCL error " + result + " ("
                    + ncclGetErrorString(result).getString() + ")");
        }
    }
}
